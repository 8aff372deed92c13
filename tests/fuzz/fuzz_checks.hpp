#pragma once
#include <string_view>

// Properties every fuzz target asserts. A violation prints what broke and the offending bytes,
// then aborts, which libFuzzer reports as a crash and saves the input.
namespace fuzz {

[[noreturn]] void fail(std::string_view what, std::string_view detail);

// A client reply (docs/contract.md §1.1): one compact JSON object, valid UTF-8, no raw CR or LF,
// "status" "OK" or "ERROR", and an "ERROR" carries a string "message".
void check_reply(std::string_view reply);

// A link frame line (docs/contract.md §2): one compact JSON object, valid UTF-8, no raw CR or LF.
void check_frame_line(std::string_view line);

}  // namespace fuzz
