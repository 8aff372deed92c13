#include "links/signing_keys.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace realmd {
namespace {

const char* const key_file = "realm.sign.key";
const char* const pins_file = "realm.pins";

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

}  // namespace

std::shared_ptr<const SigningKey> load_or_create_signing_key(
    const std::filesystem::path& data_dir) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  std::filesystem::create_directories(data_dir);  // a store elsewhere (not SQLite) may not make it
  const std::filesystem::path file = data_dir / key_file;
  auto key = std::make_shared<SigningKey>();
  unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
  if (std::filesystem::exists(file)) {
    std::string hex;
    std::ifstream(file) >> hex;
    std::optional<std::string> secret = from_hex(hex, crypto_sign_SECRETKEYBYTES);
    if (!secret) throw std::runtime_error(file.string() + ": not an Ed25519 secret key");
    key->secret = std::move(*secret);
    crypto_sign_ed25519_sk_to_pk(public_key, bytes_of(key->secret));
  } else {
    unsigned char secret[crypto_sign_SECRETKEYBYTES];
    crypto_sign_keypair(public_key, secret);
    key->secret.assign(reinterpret_cast<const char*>(secret), sizeof secret);
    const mode_t old_mask = ::umask(077);  // the secret key is the realm's identity: 0600
    std::ofstream out(file);
    out << to_hex(secret, sizeof secret) << '\n';
    ::umask(old_mask);
    sodium_memzero(secret, sizeof secret);
    if (!out.flush()) throw std::runtime_error(file.string() + ": cannot write the signing key");
  }
  key->public_hex = to_hex(public_key, sizeof public_key);
  return key;
}

std::map<std::string, std::string> read_pinned_keys(const std::filesystem::path& data_dir) {
  std::map<std::string, std::string> keys;
  std::ifstream in(data_dir / pins_file);
  std::string realm, hex;
  while (in >> realm >> hex) keys.emplace(realm, hex);  // the first pin of a realm wins
  return keys;
}

void save_pinned_key(const std::filesystem::path& data_dir, const std::string& realm,
                     const std::string& public_hex) {
  std::ofstream(data_dir / pins_file, std::ios::app) << realm << ' ' << public_hex << '\n';
}

chat::core::Environment with_signing(chat::core::Environment env,
                                     std::shared_ptr<const SigningKey> key) {
  env.sign = [key](std::string_view message) {
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
