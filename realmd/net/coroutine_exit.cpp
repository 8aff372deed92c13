#include "net/coroutine_exit.hpp"

#include <spdlog/spdlog.h>

namespace realmd {

bool log_coroutine_failure(std::exception_ptr error, std::string_view what,
                           spdlog::level::level_enum level) {
  if (!error) return false;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::log(level, "{} failed: {}", what, e.what());
  }
  return true;
}

}  // namespace realmd
