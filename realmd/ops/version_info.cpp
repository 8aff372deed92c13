#include "ops/version_info.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <spdlog/version.h>
#include <sqlite3.h>

#include <asio/version.hpp>

#include "git_revision.hpp"  // generated at every build (realmd/ops/git_revision.cmake)

#ifndef REALMCHAT_VERSION
#define REALMCHAT_VERSION "unknown"
#endif
#ifndef REALMCHAT_PROMETHEUS_CPP_VERSION
#define REALMCHAT_PROMETHEUS_CPP_VERSION "unknown"
#endif
#ifndef REALMCHAT_YAML_CPP_VERSION
#define REALMCHAT_YAML_CPP_VERSION "unknown"
#endif

namespace realmd {

std::string version_info() {
  // Run-time versions where the library reports one (the shared library actually loaded),
  // else the version built against.
  return fmt::format(
      "realmd {} (git {})\n"
      "asio {}.{}.{}, spdlog {}.{}.{}, fmt {}.{}.{}, yaml-cpp {}, prometheus-cpp {}\n"
      "sqlite {}, libsodium {}, {}",
      REALMCHAT_VERSION, REALMCHAT_GIT_REVISION, ASIO_VERSION / 100000, ASIO_VERSION / 100 % 1000,
      ASIO_VERSION % 100, SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH, FMT_VERSION / 10000,
      FMT_VERSION / 100 % 100, FMT_VERSION % 100, REALMCHAT_YAML_CPP_VERSION,
      REALMCHAT_PROMETHEUS_CPP_VERSION, sqlite3_libversion(), sodium_version_string(),
      OpenSSL_version(OPENSSL_VERSION));
}

}  // namespace realmd
