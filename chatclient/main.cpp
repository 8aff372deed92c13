// chatclient: the interactive terminal client of realmchat (docs/design.md §7).
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "chatclient/connection.hpp"
#include "chatclient/repl.hpp"
#include "config/realm_config.hpp"

namespace {

namespace fs = std::filesystem;
using chat::config::Endpoint;

constexpr const char* default_target = "127.0.0.1:8889";

// config/ of the repository: $REALMCHAT_CONFIG_DIR, else ../../config from the executable
// (build*/bin/chatclient).
fs::path config_dir() {
  if (const char* dir = std::getenv("REALMCHAT_CONFIG_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return (fs::read_symlink("/proc/self/exe").parent_path() / ".." / ".." / "config")
      .lexically_normal();
}

// Where to connect and how: the first of `endpoints` that accepts (a realm served by one of
// several processes lists them all: docs/operations.md "Standbys").
struct RealmAddress {
  std::vector<Endpoint> endpoints;
  std::optional<chat::client::TlsOptions> tls;
};

// "HOST:PORT[,HOST:PORT...]"
std::vector<Endpoint> parse_endpoints(const std::string& text) {
  std::vector<Endpoint> endpoints;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    endpoints.push_back(
        chat::config::parse_endpoint(text.substr(start, comma - start), "--connect"));
    if (comma == std::string::npos) return endpoints;
    start = comma + 1;
  }
}

// The client port of the realm a config file describes, with TLS when that port speaks it. A
// realm that listens on every interface is reached through the loopback.
RealmAddress client_address_of(const fs::path& config_file) {
  const chat::config::RealmConfig config = chat::config::load_config_file(config_file);
  RealmAddress address{{config.listen}, std::nullopt};
  Endpoint& listen = address.endpoints.front();
  if (listen.port == 0) {
    throw chat::config::ConfigError(config_file.string() +
                                    ": realm.listen has port 0 (any free port); use --connect");
  }
  if (listen.host == "0.0.0.0" || listen.host.empty()) listen.host = "127.0.0.1";
  if (listen.host == "::") listen.host = "::1";
  if (config.tls && config.tls->clients) address.tls = chat::client::TlsOptions{config.tls->ca};
  return address;
}

// --user's password: $REALMCHAT_PASSWORD, else asked on the terminal with echo off (before
// connecting, so a slow typist does not meet the realm's idle limit). nullopt without either.
std::optional<std::string> password_for(const std::string& user) {
  if (const char* password = std::getenv("REALMCHAT_PASSWORD"); password != nullptr) {
    return std::string(password);
  }
  const int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (tty < 0) return std::nullopt;
  const std::string prompt = "password for " + user + ": ";
  termios saved{};
  const bool is_terminal = tcgetattr(tty, &saved) == 0;
  if (is_terminal) {
    termios hidden = saved;
    hidden.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(tty, TCSAFLUSH, &hidden);
  }
  [[maybe_unused]] const auto written = write(tty, prompt.data(), prompt.size());
  std::string password;
  char c = 0;
  while (read(tty, &c, 1) == 1 && c != '\n' && c != '\r') password += c;
  if (is_terminal) tcsetattr(tty, TCSAFLUSH, &saved);
  [[maybe_unused]] const auto newline = write(tty, "\n", 1);
  close(tty);
  if (!is_terminal) return std::nullopt;
  return password;
}

// The command line.
struct Options {
  std::string target = default_target;
  std::string config_file;
  std::string realm;
  std::vector<std::string> commands;
  bool tls = false;
  std::string ca_file;
  bool json = false;
  bool fail_on_error = false;
  bool watch = false;
  unsigned watch_for = 0;
  std::string user;
};

void add_options(CLI::App& app, Options& o) {
  app.set_version_flag("--version", "chatclient " REALMCHAT_VERSION);
  auto* connect_option =
      app.add_option("--connect", o.target,
                     "HOST:PORT of the realm; a comma-separated list is tried in turn")
          ->capture_default_str();
  auto* config_option =
      app.add_option("--config", o.config_file, "connect to the realm.listen of this realm config")
          ->check(CLI::ExistingFile);
  auto* realm_option = app.add_option(
      "--realm", o.realm, "connect to config/realm-NAME.yaml (dir: $REALMCHAT_CONFIG_DIR)");
  connect_option->excludes(config_option)->excludes(realm_option);
  config_option->excludes(realm_option);
  app.add_flag("--tls", o.tls,
               "connect with TLS and verify the realm's certificate (on by itself when the "
               "--config/--realm has tls.clients)");
  app.add_option("--ca", o.ca_file,
                 "verify against this PEM file's CA certificates, not the system's or the "
                 "config's tls.ca (implies --tls)")
      ->check(CLI::ExistingFile)
      ->option_text("FILE");
  app.add_option("-c,--command", o.commands, "run this command, then exit (repeatable; in order)")
      ->type_size(1)
      ->allow_extra_args(false);
  app.add_flag("--json", o.json, "print each reply's raw JSON line");
  app.add_flag("--fail-on-error", o.fail_on_error, "exit 3 if any reply was an ERROR");
  app.add_flag("--watch", o.watch,
               "-c/stdin: after a login, also print new messages as they arrive (the "
               "terminal always does; /quiet toggles it)");
  app.add_option("--watch-for", o.watch_for,
                 "-c/stdin: after the commands, print new messages for SECONDS, then exit "
                 "(implies --watch)")
      ->option_text("SECONDS");
  app.add_option("--user", o.user,
                 "log in as USERNAME first; the password comes from $REALMCHAT_PASSWORD or is "
                 "asked for without echo")
      ->option_text("USERNAME");
}

// The realm's address from --realm, --config or --connect, and --tls/--ca; nothing (said on
// stderr) when a config cannot be read.
std::optional<RealmAddress> address_of(const Options& o) {
  RealmAddress address;
  try {
    if (!o.realm.empty()) {
      address = client_address_of(config_dir() / ("realm-" + o.realm + ".yaml"));
    } else if (!o.config_file.empty()) {
      address = client_address_of(o.config_file);
    } else {
      address.endpoints = parse_endpoints(o.target);
    }
  } catch (const std::exception& error) {  // ConfigError, or no /proc/self/exe
    std::cerr << "chatclient: " << error.what() << "\n";
    return std::nullopt;
  }
  if (o.tls || !o.ca_file.empty()) {
    if (!address.tls) address.tls.emplace();
    if (!o.ca_file.empty()) address.tls->ca_file = o.ca_file;
  }
  return address;
}

// Connects to the first endpoint that accepts (each failure said on stderr) and gives the
// connection every endpoint for its reconnects; nullptr when none accepted.
const Endpoint* connect_first(chat::client::Connection& connection, const RealmAddress& address) {
  const Endpoint* connected = nullptr;
  for (const Endpoint& endpoint : address.endpoints) {
    try {
      connection.connect(endpoint.host, endpoint.port, address.tls);
      connected = &endpoint;
      break;
    } catch (const chat::client::ConnectionError& error) {
      std::cerr << "chatclient: " << error.what() << "\n";
    }
  }
  if (connected == nullptr) return nullptr;
  std::vector<std::pair<std::string, std::uint16_t>> addresses;
  for (const Endpoint& each : address.endpoints) addresses.emplace_back(each.host, each.port);
  connection.set_addresses(std::move(addresses));  // a reconnect follows a failover
  return connected;
}

// What the Repl is to do; nothing (said on stderr) when --user has no password.
std::optional<chat::client::ReplOptions> repl_options(Options& o, const Endpoint& endpoint) {
  chat::client::ReplOptions options;
  if (!o.user.empty()) {
    const auto password = password_for(o.user);
    if (!password) {
      std::cerr << "chatclient: --user " << o.user
                << ": no password (set REALMCHAT_PASSWORD or run in a terminal)\n";
      return std::nullopt;
    }
    options.user = o.user;
    options.password = *password;
  }
  options.where = endpoint.host + ":" + std::to_string(endpoint.port);
  options.print.json = o.json;
  options.print.color = isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
  options.fail_on_error = o.fail_on_error;
  options.commands = std::move(o.commands);
  options.watch = o.watch || o.watch_for > 0;
  options.watch_for = std::chrono::seconds(o.watch_for);
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"realmchat client: talk to a realm interactively, or run commands from -c/stdin."};
  Options options;
  add_options(app, options);
  CLI11_PARSE(app, argc, argv);

  const std::optional<RealmAddress> address = address_of(options);
  if (!address) return chat::client::exit_connection_failed;
  chat::client::Connection connection;
  const Endpoint* endpoint = connect_first(connection, *address);
  if (endpoint == nullptr) return chat::client::exit_connection_failed;
  std::optional<chat::client::ReplOptions> repl = repl_options(options, *endpoint);
  if (!repl) return chat::client::exit_connection_failed;
  return chat::client::Repl(connection, std::move(*repl)).run();
}
