#include "data_dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

namespace realmd {
namespace {

std::string system_error_text(int error) {
  return std::generic_category().message(error);
}

// The pid the holder wrote, for the message; empty when unreadable.
std::string holder_pid(int fd) {
  char buffer[32] = {};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  if (n <= 0) return {};
  std::string pid(buffer, static_cast<std::size_t>(n));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid;
}

}  // namespace

DataDirLock::DataDirLock(const std::filesystem::path& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) throw std::runtime_error("cannot create " + data_dir.string() + ": " + ec.message());
  const std::filesystem::path file = data_dir / "realmd.lock";
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw std::runtime_error("cannot open " + file.string() + ": " + system_error_text(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string pid = holder_pid(fd_);
    ::close(fd_);
    if (error == EWOULDBLOCK) {
      throw std::runtime_error(data_dir.string() + " is in use by another realmd" +
                               (pid.empty() ? std::string() : " (pid " + pid + ")"));
    }
    throw std::runtime_error("cannot lock " + file.string() + ": " + system_error_text(error));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  // The pid is only a hint for another realmd's message: not recording it does not matter.
  [[maybe_unused]] const bool recorded =
      ::ftruncate(fd_, 0) == 0 &&
      ::pwrite(fd_, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
}

DataDirLock::~DataDirLock() {
  ::close(fd_);
}

}  // namespace realmd
