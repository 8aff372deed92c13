#pragma once
#include <spdlog/common.h>

#include <exception>
#include <string_view>

namespace realmd {

// For the completion handler of asio::co_spawn: logs the exception that ended the coroutine, if
// one did, as "<what> failed: <its message>" at `level`. Returns whether one did, so that the
// caller closes what the coroutine served (an exception in a handler would otherwise go unseen).
bool log_coroutine_failure(std::exception_ptr error, std::string_view what,
                           spdlog::level::level_enum level = spdlog::level::err);

}  // namespace realmd
