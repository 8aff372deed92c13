// realmd: serves one realm of a realmchat cluster (DESIGN.md).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <exception>
#include <memory>
#include <string>

#include "config/realm_config.hpp"
#include "data_dir_lock.hpp"
#include "realm_server.hpp"
#include "store/sqlite_store.hpp"

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
    const realmd::DataDirLock data_dir_lock(config.data_dir);
    const bool fsync = config.durability == chat::config::Durability::fsync;
    auto store = std::make_unique<chat::store::SqliteStore>(config.data_dir, fsync);
    realmd::RealmServer server(io, std::move(config), std::move(store));
    asio::signal_set signals(io, SIGINT, SIGTERM);
    server.on_stopped([&](int code) {
      exit_code = code;
      signals.cancel();
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
