#include "ops/service_notifier.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <string>

namespace realmd {

ServiceNotifier::ServiceNotifier(asio::io_context& io) : watchdog_timer_(io) {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_interval_ = std::chrono::microseconds(usec / 2);
}

void ServiceNotifier::ready(std::string_view status) {
  const std::string message = "READY=1\nSTATUS=" + std::string(status);
  sd_notify(0, message.c_str());
  if (watchdog_enabled()) schedule_watchdog();
}

void ServiceNotifier::stopping() {
  sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void ServiceNotifier::schedule_watchdog() {
  sd_notify(0, "WATCHDOG=1");
  watchdog_timer_.expires_after(watchdog_interval_);
  watchdog_timer_.async_wait([this](std::error_code ec) {
    // Pings go on through the drain of a stop: it may take its few seconds.
    if (!ec) schedule_watchdog();
  });
}

}  // namespace realmd
