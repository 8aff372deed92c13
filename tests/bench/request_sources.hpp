#pragma once
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "request_source.hpp"

// The requests of each workload (tests/bench/README in docs/performance.md). Bench users are
// named b0, b1, ...; message texts are random letters of the configured size.
namespace chatbench {

std::string bench_user(std::size_t index);
std::string random_text(std::size_t size, std::uint64_t seed);

// A fixed list of lines (setup, login, checks).
class ScriptSource final : public RequestSource {
 public:
  explicit ScriptSource(std::vector<std::string> lines) : lines_(std::move(lines)) {}
  bool next(std::string& out) override;

 private:
  std::vector<std::string> lines_;
  std::size_t next_ = 0;
};

// Endless requests to a random bench user: `prefix b<j> text` (send, sendprivaterealm),
// or Redis's `RPUSH inbox:b<j> "text"`.
class RandomRecipientSource final : public RequestSource {
 public:
  enum class Form { send, redis_rpush };
  RandomRecipientSource(Form form, std::string prefix, std::size_t users, std::string text,
                        std::uint64_t seed);
  bool next(std::string& out) override;

 private:
  Form form_;
  std::string prefix_;
  std::string text_;
  std::mt19937_64 random_;
  std::uniform_int_distribution<std::size_t> recipient_;
};

// Endless repeats of one line (sendgroup, auth).
class RepeatSource final : public RequestSource {
 public:
  explicit RepeatSource(std::string line) : line_(std::move(line)) {}
  bool next(std::string& out) override;

 private:
  std::string line_;
};

// Endless pairs: a send to a random bench user, then `inbox` (the workload `inbox`).
class SendThenInboxSource final : public RequestSource {
 public:
  SendThenInboxSource(std::size_t users, std::string text, std::uint64_t seed);
  bool next(std::string& out) override;

 private:
  RandomRecipientSource sends_;
  bool inbox_next_ = false;
};

// Endless `history user <partner> LIMIT BEFORE` with BEFORE random in 1..max_id+1 (the
// workload `history`): random pages of one long conversation (fill_history's layout).
class HistoryPageSource final : public RequestSource {
 public:
  HistoryPageSource(std::string partner, std::size_t page_size, std::uint64_t max_id,
                    std::uint64_t seed);
  bool next(std::string& out) override;

 private:
  std::string prefix_;
  std::mt19937_64 random_;
  std::uniform_int_distribution<std::uint64_t> before_;
};

}  // namespace chatbench
