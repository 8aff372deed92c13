#pragma once
#include <cstddef>

namespace chat::protocol {

// Protocol limits; the defaults of docs/contract.md §1.1 live here and only here.
struct Limits {
  std::size_t max_line_bytes = 64 * 1024;
  std::size_t max_message_bytes = 16 * 1024;
};

}  // namespace chat::protocol
