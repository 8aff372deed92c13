#pragma once
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace realmd {

// A thread of its own that runs one loop until stop() (the commit queue's, the lease keeper's):
// besides the thread, the stop flag and the lock and condition the loop waits under, so that
// stop() wakes the loop at once wherever it waits.
class WorkerThread {
 public:
  WorkerThread() = default;
  ~WorkerThread() { stop(); }
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  void start(std::function<void()> loop) { thread_ = std::thread(std::move(loop)); }
  // Sets the stop flag, wakes the loop and waits for it to end; again, nothing more.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  // The lock that the loop's shared state, stopping() and the waits on wake() go under.
  std::mutex& mutex() { return mutex_; }
  // The condition the loop waits on: stop() notifies it, and so may whoever gives it work.
  std::condition_variable& wake() { return wake_; }
  // Whether stop() was called; with mutex() held.
  bool stopping() const { return stopping_; }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace realmd
