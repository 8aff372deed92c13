#include "core/command_table.hpp"

#include <algorithm>

#include "core/commands/handlers.hpp"

namespace chat::core {

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
