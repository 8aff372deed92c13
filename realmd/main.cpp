// realmd: serves one realm of a realmchat cluster (DESIGN.md).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

#include "config/realm_config.hpp"
#include "data_dir_lock.hpp"
#include "realm_server.hpp"
#include "store/postgres_lease.hpp"
#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"

namespace {

// Exit code of a realmd that lost its realm's lease to another process (docs/operations.md).
constexpr int exit_lease_lost = 3;

struct StoreChoice {
  std::unique_ptr<chat::store::Store> store;
  std::unique_ptr<chat::store::Lease> lease;           // with PostgreSQL only
  std::unique_ptr<realmd::DataDirLock> data_dir_lock;  // with SQLite only
};

// SQLite in data_dir (one process per data_dir, locked), or PostgreSQL with a lease that the
// realm's processes share (docs/operations.md "PostgreSQL").
StoreChoice open_store(const chat::config::RealmConfig& config) {
  StoreChoice chosen;
  if (!config.store) {
    chosen.data_dir_lock = std::make_unique<realmd::DataDirLock>(config.data_dir);
    const bool fsync = config.durability == chat::config::Durability::fsync;
    chosen.store = std::make_unique<chat::store::SqliteStore>(config.data_dir, fsync);
    return chosen;
  }
  std::array<char, 256> host{};
  ::gethostname(host.data(), host.size() - 1);
  const std::string holder = std::string(host.data()) + ":" + std::to_string(::getpid());
  chosen.store = std::make_unique<chat::store::PostgresStore>(config.store->url, config.name);
  chosen.lease = std::make_unique<chat::store::PostgresLease>(config.store->url, config.name,
                                                              holder, config.store->lease);
  spdlog::info("realm {}: store on PostgreSQL, lease {} ms, holder name {}", config.name,
               config.store->lease.count(), holder);
  return chosen;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"realmd: one realm of a realmchat cluster"};
  std::string config_file;
  std::string log_level = "info";
  app.add_option("--config", config_file, "realm configuration (YAML)")->required();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or critical")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical"}));
  app.set_version_flag("--version", PROJECT_VERSION);
  CLI11_PARSE(app, argc, argv);

  spdlog::set_default_logger(spdlog::stderr_color_mt("realmd"));
  spdlog::set_level(spdlog::level::from_str(log_level));

  chat::config::RealmConfig config;
  try {
    config = chat::config::load_config_file(config_file);
  } catch (const chat::config::ConfigError& e) {
    spdlog::error("{}", e.what());  // names the file and the key
    return 2;
  }

  asio::io_context io;
  int exit_code = 0;
  try {
    StoreChoice chosen = open_store(config);
    realmd::RealmServer server(io, std::move(config), std::move(chosen.store),
                               std::move(chosen.lease));
    asio::signal_set signals(io, SIGINT, SIGTERM);
    server.on_stopped([&](int code) {
      exit_code = code;
      signals.cancel();
    });
    // Another process serves the realm now: whatever this one still holds was never
    // acknowledged (every OK waited for its commit), so it ends at once rather than drain
    // clients it may no longer answer. A supervisor restarts it as a standby.
    server.on_lease_lost([] {
      spdlog::shutdown();
      std::_Exit(exit_lease_lost);
    });
    signals.async_wait([&](std::error_code ec, int signal) {
      if (ec) return;
      spdlog::info("signal {}: stopping", signal);
      server.stop();
    });
    server.start();
    io.run();
  } catch (const chat::config::ConfigError& e) {
    spdlog::error("{}: {}", config_file, e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  return exit_code;
}
