#include "core/command_table.hpp"

#include <algorithm>

#include "core/commands/handlers.hpp"
#include "protocol/names.hpp"

namespace chat::core {

namespace {

bool is_valid_host(std::string_view host) {
  // A DNS name or an IPv4/IPv6 literal: resolved later by realmd; here only its shape.
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool is_valid_port(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value >= 1 && value <= 65535;
}
}  // namespace

bool is_valid_param(ParamKind kind, std::string_view value) {
  switch (kind) {
    case ParamKind::name:
      return protocol::is_valid_name(value);
    case ParamKind::field:
      return protocol::is_valid_field(value);
    case ParamKind::host:
      return is_valid_host(value);
    case ParamKind::port:
      return is_valid_port(value);
    case ParamKind::word:
      return true;
  }
  return false;
}

namespace {
using K = ParamKind;
using namespace commands;

// name, accepted parameter counts, kinds, takes_text, needs_session, handler
constexpr CommandSpec table[] = {
    {"auth", arity(2), {K::name, K::field}, false, false, auth},
    {"register", arity(4), {K::name, K::field, K::field, K::field}, false, false, register_user},
    {"addgroup", arity(1), {K::name}, false, true, addgroup},
    {"joingroup", arity(1), {K::name}, false, true, joingroup},
    {"send", arity(1), {K::name}, true, true, send},
    {"sendgroup", arity(1), {K::name}, true, true, sendgroup},
    {"inbox", arity(0), {}, false, true, inbox},
    {"logout", arity(0), {}, false, true, logout},
    {"info", arity(1), {K::name}, false, true, info},
    {"addrealm", arity(1) | arity(3), {K::name, K::host, K::port}, false, true, addrealm},
    {"sendprivaterealm", arity(2), {K::name, K::name}, true, true, sendprivaterealm},
    {"sendgrouprealm", arity(2), {K::name, K::name}, true, true, sendgrouprealm},
    {"getrealminbox", arity(1), {K::name}, false, true, getrealminbox},
    {"realms", arity(0), {}, false, true, realms},    // ours (docs/protocol.md)
    {"watch", arity(0), {}, false, true, watch},      // ours
    {"unwatch", arity(0), {}, false, true, unwatch},  // ours
    // history user|group NAME [LIMIT [BEFORE]], history realm REALM NAME [LIMIT [BEFORE]]
    {"history",
     arity(2) | arity(3) | arity(4) | arity(5),
     {K::word, K::word, K::word, K::word, K::word},
     false,
     true,
     history,
     valid_history_params},
    {"conversations", arity(0), {}, false, true, conversations},
};
}  // namespace

const CommandSpec* find_command(std::string_view verb) {
  auto it = std::find_if(std::begin(table), std::end(table),
                         [verb](const CommandSpec& spec) { return spec.name == verb; });
  return it == std::end(table) ? nullptr : it;
}

std::span<const CommandSpec> all_commands() {
  return table;
}

}  // namespace chat::core
