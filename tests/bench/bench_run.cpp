#include "bench_run.hpp"

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "load_runner.hpp"
#include "process_stats.hpp"
#include "request_sources.hpp"

namespace chatbench {
namespace {

using asio::ip::tcp;

constexpr std::string_view kGroup = "benchgrp";
constexpr std::size_t kSetupConnections = 50;
constexpr std::size_t kSetupPipeline = 16;

const char* const kSetupAnswers[] = {"User sudah ada", "Group sudah ada", "User sudah dalam group"};

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

tcp::endpoint endpoint_of(const std::string& host, std::uint16_t port) {
  return {asio::ip::make_address(host), port};
}

// Setting up again (the same realm across rounds) meets users and the group already there.
bool already_set_up(std::string_view reply) {
  return std::any_of(std::begin(kSetupAnswers), std::end(kSetupAnswers),
                     [&](std::string_view answer) { return reply.find(answer) != reply.npos; });
}

void run_setup_phase(LoadRunner& runner, std::vector<std::vector<std::string>> scripts,
                     const Options& options, std::string_view what) {
  PhasePlan plan;
  for (auto& lines : scripts)
    plan.sources.push_back(std::make_unique<ScriptSource>(std::move(lines)));
  plan.pipeline = kSetupPipeline;
  plan.reply_timeout = seconds(std::max(options.reply_timeout_s, 60.0));
  plan.also_ok = already_set_up;
  const PhaseResult result = runner.run(plan);
  if (result.errors > 0) {
    throw std::runtime_error(std::string(what) + ": " + std::to_string(result.errors) +
                             " errors, the first: " + result.first_error);
  }
}

// Registers b0..b<users-1> (and, with `group_size`, makes b0..b<group_size-1> the members
// of the bench group) over the runner's first connections.
void set_up_users(LoadRunner& runner, const Options& options, std::size_t users,
                  std::size_t group_size) {
  const std::string password = options.password;
  auto register_line = [&](std::size_t user) {
    return "register " + bench_user(user) + " " + password + " Bench_User Benchland";
  };
  std::size_t first = 0;
  if (group_size > 0) {
    // The group exists before anyone joins it.
    run_setup_phase(runner,
                    {{register_line(0), "auth " + bench_user(0) + " " + password,
                      "addgroup " + std::string(kGroup)}},
                    options, "creating the bench group");
    first = 1;
  }
  std::vector<std::vector<std::string>> scripts(std::min(kSetupConnections, runner.size()));
  for (std::size_t user = first; user < users; ++user) {
    auto& lines = scripts[user % scripts.size()];
    lines.push_back(register_line(user));
    if (user < group_size) {
      // `register` leaves the session unchanged when the user exists already: log in first.
      lines.push_back("auth " + bench_user(user) + " " + password);
      lines.push_back("joingroup " + std::string(kGroup));
    }
  }
  run_setup_phase(runner, std::move(scripts), options, "registering the bench users");
}

// Logs each connection in as its user. For `inbox`, also empties the users' inboxes, so
// that the measurement does not start with whatever earlier runs left there.
void log_in(LoadRunner& runner, const Options& options, std::size_t users) {
  std::vector<std::vector<std::string>> scripts;
  for (std::size_t i = 0; i < runner.size(); ++i) {
    scripts.push_back({"auth " + bench_user(i % users) + " " + options.password});
    if (options.workload == Workload::inbox) scripts.back().push_back("inbox");
  }
  run_setup_phase(runner, std::move(scripts), options, "logging in");
}

std::uint64_t count_of(std::string_view text, std::string_view what) {
  std::uint64_t count = 0;
  for (std::size_t at = text.find(what); at != text.npos; at = text.find(what, at + what.size())) {
    ++count;
  }
  return count;
}

PhasePlan measured_plan(const Options& options, std::size_t users) {
  PhasePlan plan;
  plan.pipeline = options.pipeline;
  if (options.count) {
    plan.count = *options.count;
  } else {
    plan.duration = seconds(options.duration_s);
  }
  plan.reply_timeout = seconds(options.reply_timeout_s);
  for (std::size_t i = 0; i < options.connections; ++i) {
    const std::string text = random_text(options.message_size, i + 1);
    const std::uint64_t seed = 0x9e3779b97f4a7c15ULL * (i + 1);
    using Form = RandomRecipientSource::Form;
    std::unique_ptr<RequestSource> source;
    switch (options.workload) {
      case Workload::send:
        source =
            options.redis
                ? std::make_unique<RandomRecipientSource>(Form::redis_rpush, "", users, text, seed)
                : std::make_unique<RandomRecipientSource>(Form::send, "send", users, text, seed);
        break;
      case Workload::inbox:
        source = std::make_unique<SendThenInboxSource>(users, text, seed);
        break;
      case Workload::sendgroup:
        source = std::make_unique<RepeatSource>("sendgroup " + std::string(kGroup) + " " + text);
        break;
      case Workload::realm:
        source = std::make_unique<RandomRecipientSource>(
            Form::send, "sendprivaterealm " + options.remote_realm, users, text, seed);
        break;
      case Workload::auth:
        source = std::make_unique<RepeatSource>("auth " + bench_user(i % users) + " " +
                                                options.password);
        break;
      case Workload::history:
        // Connection i is b<i>; its conversation is with the next user (fill_history).
        source = std::make_unique<HistoryPageSource>(bench_user((i + 1) % users), options.page_size,
                                                     options.history_messages, seed);
        break;
      case Workload::idle:
        // One cheap request each, whatever the users' inboxes hold.
        source = std::make_unique<ScriptSource>(
            std::vector<std::string>{"info " + bench_user(i % users)});
        break;
    }
    plan.sources.push_back(std::move(source));
  }
  if (options.workload == Workload::sendgroup) {
    const std::uint64_t others = options.group_size - 1;
    plan.items = [others](std::string_view) { return others; };
  } else if (options.workload == Workload::inbox || options.workload == Workload::history) {
    plan.items = [](std::string_view reply) { return count_of(reply, R"("msg":)"); };
  } else if (options.workload == Workload::realm) {
    // Only an acknowledged send is a delivery; "Message queued for realm" is OK but pending.
    plan.items = [](std::string_view reply) {
      return count_of(reply, "Message sent to user in realm");
    };
  }
  return plan;
}

void hold(asio::io_context& io, Clock::duration how_long) {
  asio::steady_timer timer(io, how_long);
  timer.async_wait([](std::error_code) {});
  io.restart();
  io.run();
}

void validate(const Options& options, std::size_t users) {
  if (options.connections == 0 || options.pipeline == 0) {
    throw std::runtime_error("--connections and --pipeline must be at least 1");
  }
  if (options.redis && options.tls) throw std::runtime_error("--redis speaks no TLS here");
  if (options.redis && options.workload != Workload::send) {
    throw std::runtime_error("--redis runs the send workload only (RPUSH)");
  }
  if (options.workload == Workload::sendgroup &&
      (options.group_size < 2 || options.connections > options.group_size ||
       users < options.group_size)) {
    throw std::runtime_error(
        "sendgroup: every connection's user must be a member: need 2 <= --connections <= "
        "--group-size <= --users");
  }
  if (options.workload == Workload::history &&
      (options.history_messages == 0 || users < 2 || options.connections > users)) {
    throw std::runtime_error(
        "history: needs --history-messages (the store made by --fill-history with as many "
        "--users) and 2 <= --connections <= --users");
  }
  if (options.workload == Workload::realm &&
      (options.remote_port == 0 || options.remote_realm.empty())) {
    throw std::runtime_error("realm: needs --remote-port and --remote-realm");
  }
}

// CPU time of the --path-pid processes together; nullopt when there are none or one is gone.
std::optional<std::chrono::microseconds> path_cpu_time(const std::vector<pid_t>& pids) {
  if (pids.empty()) return std::nullopt;
  std::chrono::microseconds total{0};
  for (const pid_t pid : pids) {
    const auto used = cpu_time(pid);
    if (!used) return std::nullopt;
    total += *used;
  }
  return total;
}

// The measured phase, with the CPU that the server, the --path-pid realms and chatbench itself
// used during it.
void run_measured(LoadRunner& runner, PhasePlan& plan, BenchReport& report) {
  const Options& options = report.options;
  const auto cpu_before = options.server_pid ? cpu_time(*options.server_pid) : std::nullopt;
  const auto path_before = path_cpu_time(options.path_pids);
  const auto own_before = own_cpu_time();
  report.measured = runner.run(plan);
  report.client_cpu = own_cpu_time() - own_before;
  const auto cpu_after = options.server_pid ? cpu_time(*options.server_pid) : std::nullopt;
  if (cpu_before && cpu_after) report.server_cpu = *cpu_after - *cpu_before;
  const auto path_after = path_cpu_time(options.path_pids);
  if (path_before && path_after) report.path_cpu = *path_after - *path_before;
}

// The client side of --tls: TLS 1.2 or later, as realmd takes; the server's certificate checked
// against --tls-ca when one is given.
std::unique_ptr<asio::ssl::context> tls_context(const Options& options) {
  if (!options.tls) return nullptr;
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  context->set_options(asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  if (options.tls_ca.empty()) {
    context->set_verify_mode(asio::ssl::verify_none);
  } else {
    context->load_verify_file(options.tls_ca);
    context->set_verify_mode(asio::ssl::verify_peer);
    context->set_verify_callback(asio::ssl::host_name_verification(options.host));
  }
  return context;
}

}  // namespace

const char* workload_name(Workload workload) {
  switch (workload) {
    case Workload::send:
      return "send";
    case Workload::inbox:
      return "inbox";
    case Workload::sendgroup:
      return "sendgroup";
    case Workload::realm:
      return "realm";
    case Workload::auth:
      return "auth";
    case Workload::idle:
      return "idle";
    case Workload::history:
      return "history";
  }
  return "?";
}

BenchReport run_bench(const Options& options) {
  std::size_t users = options.users != 0 ? options.users : options.connections;
  if (options.workload == Workload::sendgroup) users = std::max(users, options.group_size);
  validate(options, users);

  // One thread and no other: the event loop needs no locks (a lighter load generator).
  asio::io_context io(ASIO_CONCURRENCY_HINT_UNSAFE);
  const Dialect dialect = options.redis ? Dialect::redis : Dialect::realmchat;
  const std::unique_ptr<asio::ssl::context> tls = tls_context(options);
  LoadRunner runner(io, dialect, tls.get());
  runner.connect(endpoint_of(options.host, options.port), options.connections);

  if (!options.redis) {
    const std::size_t group = options.workload == Workload::sendgroup ? options.group_size : 0;
    set_up_users(runner, options, users, group);
    if (options.workload == Workload::realm) {
      // The recipients live in the other realm: the same names are registered there.
      LoadRunner remote(io, Dialect::realmchat, tls.get());
      remote.connect(endpoint_of(options.remote_host, options.remote_port),
                     std::min(kSetupConnections, users));
      set_up_users(remote, options, users, 0);
    }
    log_in(runner, options, users);
  }

  BenchReport report;
  report.options = options;
  if (options.workload == Workload::idle) {
    hold(io, seconds(options.duration_s));
    if (options.server_pid) report.server_rss_kb = resident_kib(*options.server_pid);
  }

  PhasePlan plan = measured_plan(options, users);
  run_measured(runner, plan, report);
  switch (options.workload) {
    case Workload::inbox:
    case Workload::sendgroup:
    case Workload::realm:
    case Workload::send:
    case Workload::history:
      report.deliveries = report.measured.items;
      break;
    case Workload::idle:
      report.answering =
          report.measured.replies - std::min(report.measured.replies, report.measured.errors);
      break;
    case Workload::auth:
      break;
  }
  if (options.server_pid && !report.server_rss_kb) {
    report.server_rss_kb = resident_kib(*options.server_pid);
  }
  if (options.workload == Workload::realm &&
      report.measured.first_error.find("Realm/User tidak ditemukan") != std::string::npos) {
    report.note = "sendprivaterealm answered 'Realm/User tidak ditemukan': realm " +
                  options.remote_realm +
                  " is not a linked peer (federation links missing in this realmd?)";
  }
  return report;
}

}  // namespace chatbench
