#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "core/realm.hpp"
#include "store/store.hpp"

// The realm's Ed25519 signing key and the keys it pinned for other realms (docs/protocol.md
// §2, trust), kept in the realm's store so that every process serving the realm (a standby on
// another machine too) signs as the realm and knows its pins. Before, they were files in
// data_dir (realm.sign.key, realm.pins): those are imported once and no longer written
// (docs/operations.md "The data directory"). libsodium; sodium_init() is called here.
namespace realmd {

// The files of a realmd before the identity moved into the store, in data_dir: read for the
// import only.
inline constexpr const char* old_key_file = "realm.sign.key";
inline constexpr const char* old_pins_file = "realm.pins";

struct SigningKey {
  std::string secret;      // crypto_sign_SECRETKEYBYTES raw bytes; empty until loaded
  std::string public_hex;  // 64 hex digits
};

struct LoadedSigningKey {
  SigningKey key;
  // Where it came from, for the log: "the store", "data_dir/realm.sign.key (imported)", "new".
  std::string source;
};

// The realm's key from `store`. When the store has none: data_dir/realm.sign.key if it exists
// (an existing deployment keeps its identity), else a new key pair; stored before it is
// returned (Store::signing_key: of processes racing to make it, all get the first stored).
// Throws std::runtime_error for a key file or stored key that is not an Ed25519 secret key,
// chat::store::StoreError when the store fails. Never puts the secret in an error or a log.
LoadedSigningKey load_signing_key(chat::store::Store& store, const std::filesystem::path& data_dir);

// Keys pinned by an older realmd in data_dir/realm.pins (one "REALM HEX" a line), committed to
// `store` and added to `snapshot` when the snapshot holds no pins and the file exists (the
// import happens once: afterwards the store holds pins). Returns how many were imported.
// Throws chat::store::StoreError.
std::size_t import_pinned_keys(chat::store::Store& store, const std::filesystem::path& data_dir,
                               chat::store::Snapshot& snapshot);

// `env` with sign (by `key`, which must be loaded before the first signature) and verify
// (Ed25519, detached) set.
chat::core::Environment with_signing(chat::core::Environment env,
                                     std::shared_ptr<const SigningKey> key);

}  // namespace realmd
