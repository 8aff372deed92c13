#pragma once
#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "core/handler_context.hpp"

// The command table as data (InspIRCd/ngIRCd style): name, parameter kinds, whether the
// last parameter is message text, whether a session is needed, and the handler.
namespace chat::core {

// How each fixed parameter is validated (docs/contract.md §1.2) before the session check.
// `word`: any parameter; the command's `validate` checks it (its meaning depends on another).
enum class ParamKind { name, field, host, port, word };
// Whether `value` is a valid parameter of `kind`: names and fields by protocol/names.hpp, a
// host by its shape (a DNS name or an IP literal), a port as 1-65535.
bool is_valid_param(ParamKind kind, std::string_view value);

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
