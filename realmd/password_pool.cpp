#include "password_pool.hpp"

#include <sodium.h>

#include "worker_thread.hpp"

namespace realmd {

PasswordCost PasswordCost::of(chat::config::PasswordCost cost) {
  switch (cost) {
    case chat::config::PasswordCost::interactive:
      return {.opslimit = 2, .memlimit = 19 * 1024 * 1024};
    case chat::config::PasswordCost::min:
      return {.opslimit = crypto_pwhash_OPSLIMIT_MIN, .memlimit = crypto_pwhash_MEMLIMIT_MIN};
  }
  return of(chat::config::PasswordCost::interactive);  // not reached: every cost is above
}

PasswordPool::PasswordPool(PasswordCost cost, std::size_t threads) : cost_(cost), pool_(threads) {}

PasswordPool::~PasswordPool() {
  stop();
}

void PasswordPool::stop() {
  pool_.stop();
  pool_.join();
}

chat::core::PasswordResult PasswordPool::run(chat::core::PasswordJob& job) const {
  // asio::thread_pool names no threads: each job names the pool's thread it runs on (a system
  // call beside tens of milliseconds of argon2id).
  name_this_thread("argon2");
  chat::core::PasswordResult result;
  if (job.kind == chat::core::PasswordJob::Kind::hash) {
    char hash[crypto_pwhash_STRBYTES];
    // Fails only when the memory limit cannot be allocated.
    result.ok = crypto_pwhash_str(hash, job.password.data(), job.password.size(), cost_.opslimit,
                                  cost_.memlimit) == 0;
    if (result.ok) result.hash = hash;
  } else {
    result.ok =
        crypto_pwhash_str_verify(job.hash.c_str(), job.password.data(), job.password.size()) == 0;
  }
  sodium_memzero(job.password.data(), job.password.size());
  return result;
}

}  // namespace realmd
