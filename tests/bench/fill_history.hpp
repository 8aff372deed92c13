#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace chatbench {

// Writes `messages` messages straight into the history of the realm store in `data_dir` (run
// before realmd starts on it; sending them through realmd would take minutes). Message k
// (ids 1..messages) belongs to the conversation of b<c> and b<c+1 mod users>, c = k mod users:
// every conversation spans the whole id range, as the workload `history` expects.
void fill_history(const std::filesystem::path& data_dir, std::uint64_t messages, std::size_t users);

}  // namespace chatbench
