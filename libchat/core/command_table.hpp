#pragma once
#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "core/outcome.hpp"

// The command table as data (InspIRCd/ngIRCd style): name, parameter kinds, whether the
// last parameter is message text, whether a session is needed, and the handler.
namespace chat::core {

class RealmState;
struct RealmSettings;
struct Environment;
struct Connection;

// How each fixed parameter is validated (docs/contract.md §1.2) before the session check.
// `word`: any parameter; the command's `validate` checks it (its meaning depends on another).
enum class ParamKind { name, field, host, port, word };

// Everything a handler may read or change. Handlers only fill in `out`.
struct Request {
  RealmState& state;
  const RealmSettings& settings;
  const Environment& env;
  Connection& conn;
  std::string_view token;                // token given in token mode, else empty
  std::string_view user;                 // the session's user ("" if the command needs none)
  std::vector<std::string_view> params;  // fixed parameters, token removed
  std::string_view text;                 // message text (commands with takes_text)
  Outcome& out;
};

using Handler = void (*)(Request&);
// Extra parameter checks, run where the kinds are checked (before the session check).
using Validator = bool (*)(const std::vector<std::string_view>& params);

struct CommandSpec {
  std::string_view name;
  unsigned arities;                // bit n set: n fixed parameters accepted
  std::array<ParamKind, 5> kinds;  // kinds of params[0..n)
  bool takes_text;                 // one more parameter: the rest of the line
  bool needs_session;
  Handler handler;
  Validator validate = nullptr;
};

// The table, in docs/contract.md's order. nullptr for an unknown command word (already lower-case).
const CommandSpec* find_command(std::string_view verb);
std::span<const CommandSpec> all_commands();

constexpr unsigned arity(unsigned n) {
  return 1u << n;
}
inline bool accepts_arity(const CommandSpec& spec, std::size_t n) {
  return n < 8 * sizeof(unsigned) && (spec.arities & (1u << n)) != 0;
}

}  // namespace chat::core
