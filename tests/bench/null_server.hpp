#pragma once
#include <cstdint>

namespace chatbench {

// The ceiling for any server on this machine with this client: accepts connections on
// 127.0.0.1:`port` (0: any free port) and answers every non-empty line with one fixed
// realmchat reply, doing nothing else. Prints "null server on 127.0.0.1:PORT" once
// listening, then serves until killed.
[[noreturn]] void serve_null(std::uint16_t port);

}  // namespace chatbench
