// realmd: serves one realm of a realmchat cluster (docs/design.md). Exit codes
// (docs/operations.md): 0 after a clean stop, 1 when the store still failed at the stop, 2 for bad
// options and for any start-up error (config, data directory, store, TLS files, listeners), 3 when
// another process took the realm's lease (store on PostgreSQL).
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "config/realm_config.hpp"
#include "data_dir_lock.hpp"
#include "net/tls_contexts.hpp"
#include "ops/logging.hpp"
#include "ops/service_notifier.hpp"
#include "ops/version_info.hpp"
#include "realm_server.hpp"
#include "store/postgres_lease.hpp"
#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"

namespace {

constexpr int exit_startup_error = 2;
// A realmd that lost its realm's lease to another process (docs/operations.md "Standbys").
constexpr int exit_lease_lost = 3;

struct StoreChoice {
  std::optional<realmd::DataDirLock> data_dir_lock;  // with SQLite only
  std::unique_ptr<chat::store::Store> store;
  std::unique_ptr<chat::store::Lease> lease;  // with PostgreSQL only
};

// SQLite in data_dir (one process per data_dir, locked), or PostgreSQL with a lease that the
// realm's processes share (docs/operations.md "PostgreSQL"). Throws for a start-up error.
void open_store(const chat::config::RealmConfig& config, StoreChoice& chosen) {
  if (!config.store) {
    chosen.data_dir_lock.emplace(config.data_dir);
    const bool fsync = config.durability == chat::config::Durability::fsync;
    chosen.store = std::make_unique<chat::store::SqliteStore>(config.data_dir, fsync);
    return;
  }
  std::array<char, 256> host{};
  ::gethostname(host.data(), host.size() - 1);
  const std::string holder = std::string(host.data()) + ":" + std::to_string(::getpid());
  // The lease bounds the commit connection's connect and unacknowledged writes too: a holder
  // cut off from the database has lost its lease by then anyway, and its waiting requests
  // should hear so (the store stalls) rather than wait for a longer TCP timeout.
  chosen.store = std::make_unique<chat::store::PostgresStore>(config.store->url, config.name,
                                                              config.store->lease);
  chosen.lease = std::make_unique<chat::store::PostgresLease>(config.store->url, config.name,
                                                              holder, config.store->lease);
  spdlog::info("realm {}: store on PostgreSQL, lease {} ms, holder name {}", config.name,
               config.store->lease.count(), holder);
}

constexpr const char* usage =
    "usage: realmd --config FILE [--log-level LEVEL] [--log-format text|json] [--log-file PATH]\n"
    "       realmd --check-config FILE\n"
    "       realmd --version | --help\n";

struct Options {
  std::string config_file;
  std::string check_file;
  std::string log_level = "info";
  std::string log_format = "text";
  std::string log_file;
};

// The options, or the exit code when there is nothing to run (--help, --version, bad options).
std::optional<int> parse_options(int argc, char** argv, Options& options) {
  CLI::App app{"realmd: one realm of a realmchat cluster"};
  auto* config = app.add_option("--config", options.config_file, "realm configuration (YAML)");
  app.add_option("--check-config", options.check_file,
                 "check a configuration (keys, values, limits, TLS files) and exit: 0 if good")
      ->excludes(config);
  app.add_option("--log-level", options.log_level, "trace, debug, info, warn, error or critical")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical"}));
  app.add_option("--log-format", options.log_format, "text (default) or json (a line per object)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-file", options.log_file,
                 "log to this file instead of stderr; SIGHUP reopens it (logrotate)");
  app.set_version_flag("--version", realmd::version_info());
  try {
    app.parse(argc, argv);
    if (options.config_file.empty() && options.check_file.empty()) {
      throw CLI::RequiredError("--config or --check-config");
    }
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "realmd: " << e.what() << "\n" << usage;
    return exit_startup_error;
  }
  return std::nullopt;
}

// --check-config: everything a start reads before it touches the data directory.
int check_config(const std::string& file) {
  try {
    const chat::config::RealmConfig config = chat::config::load_config_file(file);
    realmd::make_tls_contexts(config.tls);  // the certificate, key and CA files load
    std::cout << file << ": ok (realm " << config.name << ", realm link frames up to "
              << config.limits.max_frame_bytes << " bytes)\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "realmd: " << e.what() << "\n";
    return exit_startup_error;
  }
}

// Serves until SIGINT or SIGTERM; SIGHUP reopens the log file. Returns the exit code.
int serve(asio::io_context& io, realmd::RealmServer& server, realmd::Logging& logging) {
  realmd::ServiceNotifier notifier(io);
  asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  asio::signal_set hangup(io, SIGHUP);
  int exit_code = 0;
  server.on_stopped([&](int code) {
    exit_code = code;
    stop_signals.cancel();
    hangup.cancel();
    notifier.stopped();
  });
  // Another process serves the realm now: whatever this one still holds was never
  // acknowledged (every OK waited for its commit), so it ends at once rather than drain
  // clients it may no longer answer. A supervisor restarts it as a standby.
  server.on_lease_lost([] {
    spdlog::shutdown();
    std::_Exit(exit_lease_lost);
  });
  stop_signals.async_wait([&](std::error_code ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: stopping", signal);
    notifier.stopping();
    server.stop();
  });
  std::function<void(std::error_code, int)> on_hangup = [&](std::error_code ec, int) {
    if (ec) return;
    if (logging.reopen())
      spdlog::info("SIGHUP: reopened the log file {}", logging.file().string());
    else
      spdlog::info("SIGHUP: nothing to reload (logging to stderr)");
    hangup.async_wait(on_hangup);
  };
  hangup.async_wait(on_hangup);
  server.start();  // throws for a start-up error: the caller's to report
  notifier.ready(server.is_primary() ? "serving" : "standby: waiting for the lease");
  try {
    io.run();
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const auto exit_code = parse_options(argc, argv, options)) return *exit_code;
  if (!options.check_file.empty()) return check_config(options.check_file);

  std::optional<realmd::Logging> logging;
  try {
    logging.emplace(
        options.log_format == "json" ? realmd::LogFormat::json : realmd::LogFormat::text,
        options.log_file, options.log_level);
  } catch (const std::exception& e) {
    std::cerr << "realmd: cannot log to " << options.log_file << ": " << e.what() << "\n";
    return exit_startup_error;
  }
  // Start-up errors go to the log and, when that is a file, to stderr too: whoever started
  // realmd by hand sees why it did not start.
  const auto startup_error = [&](const std::string& message) {
    spdlog::critical("{}", message);
    if (!options.log_file.empty()) std::cerr << "realmd: " << message << "\n";
    return exit_startup_error;
  };
  chat::config::RealmConfig config;
  try {
    config = chat::config::load_config_file(options.config_file);
  } catch (const chat::config::ConfigError& e) {
    return startup_error(e.what());  // names the file, the place in it and the key
  }
  asio::io_context io;
  StoreChoice chosen;
  std::unique_ptr<realmd::RealmServer> server;
  try {
    open_store(config, chosen);
    server = std::make_unique<realmd::RealmServer>(io, std::move(config), std::move(chosen.store),
                                                   std::move(chosen.lease));
  } catch (const std::exception& e) {
    return startup_error(e.what());
  }
  try {
    return serve(io, *server, *logging);
  } catch (const std::exception& e) {
    // server.start() fails before the loop runs (a port in use, a TLS file): a start-up error.
    return startup_error(e.what());
  }
}
