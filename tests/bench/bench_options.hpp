#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chatbench {

enum class Workload { send, inbox, sendgroup, realm, auth, idle, history };

// Everything one chatbench run is told (main.cpp maps the command line onto this).
struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  Workload workload = Workload::send;
  std::size_t connections = 50;
  std::size_t pipeline = 1;
  std::size_t message_size = 32;
  double duration_s = 5;               // measured phase (idle: how long connections are held)
  std::optional<std::uint64_t> count;  // requests in all, instead of a duration
  std::size_t users = 0;               // bench users b0..; 0: one per connection
  std::size_t group_size = 100;        // sendgroup: members of the bench group
  // history: messages in the store (made by --fill-history): pages are asked for below a
  // random id in 1..this.
  std::uint64_t history_messages = 0;
  std::size_t page_size = 50;  // history: LIMIT
  bool redis = false;          // speak Redis (RPUSH) instead of realmchat
  bool tls = false;            // speak TLS to the server (realmd's tls.clients)
  std::string tls_ca;  // verify the server's certificate against this CA (PEM); empty: no check
  std::string remote_host = "127.0.0.1";  // realm: the receiving realm's client listener
  std::uint16_t remote_port = 0;
  std::string remote_realm;         // realm: its name
  std::optional<pid_t> server_pid;  // to report the server's RSS
  // realm: the other realms on the way (relays and the receiving realm), whose CPU over the
  // measured phase is reported beside the sending realm's: a routed send costs every hop.
  std::vector<pid_t> path_pids;
  std::string password = "benchpw";
  std::string label;  // names the target in the report (realmd, redis, ...)
  double reply_timeout_s = 30;
};

const char* workload_name(Workload workload);

}  // namespace chatbench
