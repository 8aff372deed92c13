#include "support/postgres_server.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "support/run_command.hpp"

namespace test_support {
namespace {

// The server's binaries; REALMCHAT_PG_BIN overrides (another major version, another path).
std::string pg_bin(const std::string& program) {
  const char* bin = std::getenv("REALMCHAT_PG_BIN");
  return std::string(bin != nullptr ? bin : "/usr/lib/postgresql/15/bin") + "/" + program;
}

// Any port: it only names the socket file in our own directory.
constexpr const char* kPort = "5432";

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

PostgresServer::PostgresServer(Network network)
    : network_(std::move(network)), data_(dir_.path() / "data") {
  // The server runs as `postgres`, which must reach the directory and create the socket in it.
  ::chmod(dir_.path().c_str(), 0777);
  run(pg_bin("initdb") + " --no-sync -A trust -U postgres -D " + data_.string());
  if (!network_.trusted.empty()) {
    std::ofstream(data_ / "pg_hba.conf", std::ios::app)
        << "host all all " << network_.trusted << " trust\n";
  }
  start();
  run(pg_bin("createdb") + " -h " + dir_.path().string() + " -p " + kPort +
      " -U postgres realmchat");
}

PostgresServer::~PostgresServer() {
  if (!running_) return;
  try {
    run(pg_bin("pg_ctl") + " -D " + data_.string() + " -m immediate stop");
  } catch (const std::exception&) {
    // Nothing more to do in a destructor; the temp dir goes anyway.
  }
}

std::string PostgresServer::url(const std::string& database) const {
  return "postgresql:///" + database + "?host=" + dir_.path().string() + "&port=" + kPort +
         "&user=postgres";
}

std::string PostgresServer::tcp_url(const std::string& address, const std::string& database) const {
  return "postgresql://postgres@" + address + ":" + kPort + "/" + database;
}

void PostgresServer::start() {
  // fsync off: the tests restart the server, never the machine, and the disk is shared.
  run(pg_bin("pg_ctl") + " -D " + data_.string() + " -w -l " + (dir_.path() / "pg.log").string() +
      " -o " +
      quoted("-k " + dir_.path().string() + " -p " + kPort + " -c listen_addresses=" +
             network_.listen_addresses + " -c fsync=off -c max_connections=200") +
      " start");
  running_ = true;
}

void PostgresServer::stop() {
  run(pg_bin("pg_ctl") + " -D " + data_.string() + " -w -m fast stop");
  running_ = false;
}

void PostgresServer::restart() {
  run(pg_bin("pg_ctl") + " -D " + data_.string() + " -w -m fast -l " +
      (dir_.path() / "pg.log").string() + " restart");
  running_ = true;
}

std::string PostgresServer::query(const std::string& sql) const {
  return run("psql -X -q -At -v ON_ERROR_STOP=1 -d " + quoted(url()) + " -c " + quoted(sql));
}

std::string PostgresServer::run(const std::string& command) const {
  std::string as_user = ::geteuid() == 0 ? "runuser -u postgres -- " + command : command;
  // The namespace first: entering one needs root, which runuser gives up.
  if (!network_.namespace_name.empty()) {
    as_user = "ip netns exec " + network_.namespace_name + " " + as_user;
  }
  // cd: the server's user may not be allowed into the test's working directory.
  const CommandRun done = run_command("cd / && " + as_user + " 2>&1");
  if (done.exit_code != 0) {
    std::ifstream log(dir_.path() / "pg.log");
    std::stringstream text;
    text << log.rdbuf();
    throw std::runtime_error("PostgreSQL test server: `" + command + "` failed (exit " +
                             std::to_string(done.exit_code) + "):\n" + done.out +
                             "\nserver log:\n" + text.str());
  }
  std::string out = done.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

PostgresServer& shared_postgres() {
  static PostgresServer server;
  return server;
}

}  // namespace test_support
