#pragma once
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/dispatch.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <cstddef>
#include <string_view>
#include <utility>

#include "config/realm_config.hpp"
#include "core/outcome.hpp"

namespace realmd {

// argon2id cost of crypto_pwhash_str.
struct PasswordCost {
  unsigned long long opslimit = 0;
  std::size_t memlimit = 0;

  // interactive: 2 passes over 19 MiB (OWASP's floor for argon2id); min: libsodium's
  // minimum, for tests.
  static PasswordCost of(chat::config::PasswordCost cost);
};

// Runs argon2id hashing and verification off the event loop, on a small thread pool, and
// hands each result back on the executor of the caller's completion handler.
class PasswordPool {
 public:
  PasswordPool(PasswordCost cost, std::size_t threads);
  ~PasswordPool();
  PasswordPool(const PasswordPool&) = delete;
  PasswordPool& operator=(const PasswordPool&) = delete;

  // Completion signature void(chat::core::PasswordResult). The job's password is wiped
  // from memory once used.
  template <typename CompletionToken>
  auto async_run(chat::core::PasswordJob job, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(chat::core::PasswordResult)>(
        [this](auto handler, chat::core::PasswordJob job) {
          // Keeps the caller's io_context running while the job is away on the pool.
          auto work = asio::make_work_guard(asio::get_associated_executor(handler));
          asio::post(pool_, [this, job = std::move(job), handler = std::move(handler),
                             work = std::move(work)]() mutable {
            chat::core::PasswordResult result = run(job);
            auto executor = work.get_executor();
            asio::dispatch(executor,
                           [handler = std::move(handler), result = std::move(result)]() mutable {
                             std::move(handler)(std::move(result));
                           });
          });
        },
        token, std::move(job));
  }

  // Waits for the jobs in flight; later jobs are not run.
  void stop();

 private:
  chat::core::PasswordResult run(chat::core::PasswordJob& job) const;

  PasswordCost cost_;
  asio::thread_pool pool_;
};

}  // namespace realmd
