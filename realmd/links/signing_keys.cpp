#include "links/signing_keys.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace realmd {
namespace {

std::string to_hex(const unsigned char* bytes, std::size_t size) {
  std::string hex(size * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes, size);
  hex.pop_back();
  return hex;
}

// `hex` as exactly `size` bytes, or nothing.
std::optional<std::string> from_hex(std::string_view hex, std::size_t size) {
  std::string bytes(size, '\0');
  std::size_t length = 0;
  if (hex.size() != size * 2 ||
      sodium_hex2bin(reinterpret_cast<unsigned char*>(bytes.data()), size, hex.data(), hex.size(),
                     nullptr, &length, nullptr) != 0 ||
      length != size) {
    return std::nullopt;
  }
  return bytes;
}

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The secret key (hex) in data_dir/realm.sign.key, or nothing when there is no such file.
std::optional<std::string> read_key_file(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) return std::nullopt;
  std::string hex;
  std::ifstream(file) >> hex;
  if (!from_hex(hex, crypto_sign_SECRETKEYBYTES)) {
    throw std::runtime_error(file.string() + ": not an Ed25519 secret key");
  }
  return hex;
}

// A key file left by an older realmd that is not the realm's key (e.g. a standby's own, made
// before the key moved into the store) is a surprise worth a warning: it is not used.
void warn_if_other_key_file(const std::filesystem::path& file, const std::string& stored_hex) {
  if (!std::filesystem::exists(file)) return;
  std::string hex;
  std::ifstream(file) >> hex;
  if (hex != stored_hex) {
    spdlog::warn("{}: not the realm's signing key, which is in the store: this file is not used",
                 file.string());
  }
}

std::string new_secret_hex() {
  unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
  unsigned char secret[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(public_key, secret);
  std::string hex = to_hex(secret, sizeof secret);
  sodium_memzero(secret, sizeof secret);
  return hex;
}

}  // namespace

LoadedSigningKey load_signing_key(chat::store::Store& store,
                                  const std::filesystem::path& data_dir) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  const std::filesystem::path file = data_dir / old_key_file;
  LoadedSigningKey loaded{{}, "the store"};
  bool stored_before = true;
  const std::string hex = store.signing_key([&] {
    stored_before = false;
    if (std::optional<std::string> imported = read_key_file(file)) {
      loaded.source = file.string() + " (imported)";
      return std::move(*imported);
    }
    loaded.source = "new";
    return new_secret_hex();
  });
  if (stored_before) warn_if_other_key_file(file, hex);
  std::optional<std::string> secret = from_hex(hex, crypto_sign_SECRETKEYBYTES);
  if (!secret)
    throw std::runtime_error("the signing key in the store is not an Ed25519 secret key");
  loaded.key.secret = std::move(*secret);
  unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_ed25519_sk_to_pk(public_key, bytes_of(loaded.key.secret));
  loaded.key.public_hex = to_hex(public_key, sizeof public_key);
  return loaded;
}

std::size_t import_pinned_keys(chat::store::Store& store, const std::filesystem::path& data_dir,
                               chat::store::Snapshot& snapshot) {
  if (!snapshot.pins.empty()) return 0;
  std::ifstream in(data_dir / old_pins_file);
  std::vector<chat::store::PinRecord> pins;
  std::set<std::string> pinned;
  std::string realm, hex;
  while (in >> realm >> hex) {  // the first pin of a realm wins, in the file as in the store
    if (!from_hex(hex, crypto_sign_PUBLICKEYBYTES)) continue;  // never written by realmd
    if (pinned.insert(realm).second) pins.push_back({realm, hex});
  }
  if (pins.empty()) return 0;
  std::vector<chat::store::Mutation> batch;
  for (const chat::store::PinRecord& pin : pins) batch.push_back(chat::store::PutPin{pin});
  store.commit(batch);
  snapshot.pins = std::move(pins);
  return snapshot.pins.size();
}

chat::core::Environment with_signing(chat::core::Environment env,
                                     std::shared_ptr<const SigningKey> key) {
  env.sign = [key](std::string_view message) {
    if (key->secret.size() != crypto_sign_SECRETKEYBYTES) {
      throw std::logic_error("signing before the realm's key is loaded");
    }
    unsigned char signature[crypto_sign_BYTES];
    crypto_sign_detached(signature, nullptr, bytes_of(message), message.size(),
                         bytes_of(key->secret));
    return to_hex(signature, sizeof signature);
  };
  env.verify = [](std::string_view public_hex, std::string_view message,
                  std::string_view signature_hex) {
    const auto public_key = from_hex(public_hex, crypto_sign_PUBLICKEYBYTES);
    const auto signature = from_hex(signature_hex, crypto_sign_BYTES);
    return public_key && signature &&
           crypto_sign_verify_detached(bytes_of(*signature), bytes_of(message), message.size(),
                                       bytes_of(*public_key)) == 0;
  };
  return env;
}

}  // namespace realmd
