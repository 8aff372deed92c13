#pragma once
#include <filesystem>

namespace realmd {

// Holds data_dir for one realmd process: an exclusive flock on data_dir/realmd.lock, which also
// records the holder's pid. Two processes serving one store would each keep their own state in
// memory and hand out the same message ids; the second is refused at start instead. The kernel
// drops the lock with the process, so a crash (kill -9) never leaves it behind.
class DataDirLock {
 public:
  // Creates data_dir when missing. Throws std::runtime_error naming the holder's pid when
  // another process holds it, or the error when the lock file cannot be used.
  explicit DataDirLock(const std::filesystem::path& data_dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace realmd
