// chatbench: a closed-loop load generator for the realmchat protocol, with the same client
// speaking Redis (--redis) and a null server (--serve-null) as anchors. docs/performance.md.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <map>
#include <string>

#include "bench_options.hpp"
#include "bench_report.hpp"
#include "bench_run.hpp"
#include "fill_history.hpp"
#include "null_server.hpp"

int main(int argc, char** argv) {
  using chatbench::Workload;
  CLI::App app{"chatbench: closed-loop load generator for realmchat (docs/performance.md)"};
  chatbench::Options options;
  int serve_null_port = -1;
  double count = 0;
  int server_pid = 0;
  const std::map<std::string, Workload> workloads{
      {"send", Workload::send},      {"inbox", Workload::inbox}, {"sendgroup", Workload::sendgroup},
      {"realm", Workload::realm},    {"auth", Workload::auth},   {"idle", Workload::idle},
      {"history", Workload::history}};

  app.add_option("--host", options.host, "server address")->capture_default_str();
  app.add_option("--port", options.port, "server port");
  app.add_option("--workload,-w", options.workload,
                 "send: random recipients; inbox: send then inbox; sendgroup: to a group of "
                 "--group-size; realm: sendprivaterealm to --remote-realm; auth: logins; idle: "
                 "hold the connections logged in for --duration, then check each answers; history: "
                 "random pages of each user's conversation (a store from --fill-history)")
      ->transform(CLI::CheckedTransformer(workloads, CLI::ignore_case));
  app.add_option("--connections,-c", options.connections)->capture_default_str();
  app.add_option("--pipeline,-p", options.pipeline, "requests in flight per connection")
      ->capture_default_str();
  app.add_option("--size,-s", options.message_size, "message text bytes")->capture_default_str();
  app.add_option("--duration,-d", options.duration_s, "seconds to measure (idle: to hold)")
      ->capture_default_str();
  app.add_option("--count,-n", count, "requests in all, instead of --duration")
      ->check(CLI::PositiveNumber);
  app.add_option("--users", options.users, "bench users b0.. (default: one per connection)");
  app.add_option("--group-size", options.group_size, "sendgroup: members of the bench group")
      ->capture_default_str();
  app.add_option("--history-messages", options.history_messages,
                 "history: messages in the store (ids 1..N), as filled by --fill-history");
  app.add_option("--page-size", options.page_size, "history: messages per page (LIMIT)")
      ->capture_default_str();
  std::uint64_t fill_messages = 0;
  std::string data_dir;
  app.add_option("--fill-history", fill_messages,
                 "write N messages into the history of the store in --data-dir (between --users "
                 "bench users), then exit; run before realmd starts on it");
  app.add_option("--data-dir", data_dir, "--fill-history: the realm's data_dir");
  app.add_flag("--redis", options.redis,
               "speak Redis: RPUSH inbox:<user> \"<text>\" (send workload only)");
  app.add_flag("--tls", options.tls, "speak TLS to the server (and the remote realm)");
  app.add_option("--tls-ca", options.tls_ca,
                 "with --tls: the CA certificate (PEM) the server's must chain to; it must name "
                 "--host in its subjectAltName (default: no verification)");
  app.add_option("--remote-host", options.remote_host, "realm: the receiving realm's host")
      ->capture_default_str();
  app.add_option("--remote-port", options.remote_port, "realm: the receiving realm's client port");
  app.add_option("--remote-realm", options.remote_realm, "realm: the receiving realm's name");
  app.add_option("--server-pid", server_pid, "report this process's RSS (VmRSS)");
  app.add_option("--path-pid", options.path_pids,
                 "realm: a relay or the receiving realm (repeatable): their CPU during the "
                 "measured phase is reported together as path CPU");
  app.add_option("--password", options.password, "the bench users' password")
      ->capture_default_str();
  app.add_option("--label", options.label, "names the target in the report");
  app.add_option("--reply-timeout", options.reply_timeout_s,
                 "seconds without any reply before waiting connections give up")
      ->capture_default_str();
  app.add_option("--serve-null", serve_null_port,
                 "be the null server on this port (0: any free port) instead of a client")
      ->check(CLI::Range(0, 65535));
  app.set_version_flag("--version", PROJECT_VERSION);
  CLI11_PARSE(app, argc, argv);

  if (serve_null_port >= 0) chatbench::serve_null(static_cast<std::uint16_t>(serve_null_port));
  if (fill_messages > 0) {
    if (data_dir.empty()) {
      fmt::print(stderr, "chatbench: --fill-history needs --data-dir\n");
      return 2;
    }
    try {
      chatbench::fill_history(data_dir, fill_messages, options.users);
      return 0;
    } catch (const std::exception& e) {
      fmt::print(stderr, "chatbench: {}\n", e.what());
      return 2;
    }
  }
  if (options.port == 0) {
    fmt::print(stderr, "chatbench: --port is required (or --serve-null PORT)\n");
    return 2;
  }
  if (count > 0) options.count = static_cast<std::uint64_t>(count);
  if (server_pid > 0) options.server_pid = server_pid;
  try {
    const chatbench::BenchReport report = chatbench::run_bench(options);
    chatbench::print_report(report);
    return report.measured.errors == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "chatbench: {}\n", e.what());
    return 2;
  }
}
