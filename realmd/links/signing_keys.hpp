#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "core/realm.hpp"

// The realm's Ed25519 signing key and the keys it pinned for other realms (docs/protocol.md
// §2, trust), kept as files in the data directory. libsodium; sodium_init() is called here.
namespace realmd {

struct SigningKey {
  std::string secret;      // crypto_sign_SECRETKEYBYTES raw bytes
  std::string public_hex;  // 64 hex digits
};

// Reads data_dir/realm.sign.key, or makes a new key pair and writes it there (mode 0600) when
// the file does not exist. Throws std::runtime_error naming the file when it cannot.
std::shared_ptr<const SigningKey> load_or_create_signing_key(const std::filesystem::path& data_dir);

// The keys learnt and pinned earlier (data_dir/realm.pins: one "REALM HEX" a line; none if
// the file does not exist), and one more appended.
std::map<std::string, std::string> read_pinned_keys(const std::filesystem::path& data_dir);
void save_pinned_key(const std::filesystem::path& data_dir, const std::string& realm,
                     const std::string& public_hex);

// `env` with sign (by `key`) and verify (Ed25519, detached) set.
chat::core::Environment with_signing(chat::core::Environment env,
                                     std::shared_ptr<const SigningKey> key);

}  // namespace realmd
