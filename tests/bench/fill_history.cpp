#include "fill_history.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/history.hpp"
#include "request_sources.hpp"
#include "store/sqlite_store.hpp"

namespace chatbench {

void fill_history(const std::filesystem::path& data_dir, std::uint64_t messages,
                  std::size_t users) {
  if (users < 2) throw std::runtime_error("--fill-history needs --users of at least 2");
  constexpr std::uint64_t batch_size = 20000;
  const auto start = std::chrono::steady_clock::now();
  chat::store::SqliteStore store(data_dir, false);
  std::vector<std::string> conversations;
  for (std::size_t c = 0; c < users; ++c) {
    conversations.push_back(
        chat::core::user_conversation(bench_user(c), bench_user((c + 1) % users)));
  }
  const std::string text = random_text(32, 7);
  std::vector<chat::store::Mutation> batch;
  for (std::uint64_t first = 1; first <= messages; first += batch_size) {
    batch.clear();
    const std::uint64_t last = std::min(messages, first + batch_size - 1);
    for (std::uint64_t id = first; id <= last; ++id) {
      const std::size_t c = id % users;
      // The two sides take turns.
      const bool forward = (id / users) % 2 == 0;
      const std::string from = bench_user(forward ? c : (c + 1) % users);
      const std::string to = bench_user(forward ? (c + 1) % users : c);
      batch.push_back(chat::store::PutHistory{
          {id, conversations[c], from, "bench", to, "", text, "2026-11-26T22:33:16Z", false}});
    }
    batch.push_back(chat::store::IndexHistory{last});  // as realmd's index passes do
    store.commit(batch);
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  fmt::print("filled history: {} messages in {} conversations in {:.1f} s\n", messages, users,
             took.count());
}

}  // namespace chatbench
