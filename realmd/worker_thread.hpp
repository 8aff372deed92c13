#pragma once
#include <pthread.h>

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace realmd {

// Names the calling thread (Linux: at most 15 characters, longer names are cut), so that an
// operator's `top -H -p PID` tells realmd's threads apart.
inline void name_this_thread(const char* name) {
  char cut[16] = {};
  for (std::size_t i = 0; i + 1 < sizeof cut && name[i] != '\0'; ++i) cut[i] = name[i];
  pthread_setname_np(pthread_self(), cut);
}

// A thread of its own that runs one loop until stop() (the commit queue's, the lease keeper's):
// besides the thread, the stop flag and the lock and condition the loop waits under, so that
// stop() wakes the loop at once wherever it waits.
class WorkerThread {
 public:
  WorkerThread() = default;
  ~WorkerThread() { stop(); }
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // `name` (at most 15 characters) is what `top -H` and `ps -L` show for the thread.
  void start(const char* name, std::function<void()> loop) {
    thread_ = std::thread([name, loop = std::move(loop)] {
      name_this_thread(name);
      loop();
    });
  }
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
