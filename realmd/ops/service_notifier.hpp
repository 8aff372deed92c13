#pragma once
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <string_view>

namespace realmd {

// Tells systemd (Type=notify, docs/operations.md) how realmd is doing, through libsystemd's
// sd_notify: READY=1 once every listener is up, STOPPING=1 when a stop begins, and WATCHDOG=1
// at half the unit's WatchdogSec, sent from the event loop itself, so that a loop that hangs
// stops the pings and systemd restarts realmd. Outside systemd (no $NOTIFY_SOCKET) every call
// does nothing.
class ServiceNotifier {
 public:
  explicit ServiceNotifier(asio::io_context& io);

  void ready(std::string_view status);
  void stopping();
  // The stop is over: no more watchdog pings (the event loop may end).
  void stopped() { watchdog_timer_.cancel(); }
  // Whether systemd asked for watchdog pings (WatchdogSec in the unit).
  bool watchdog_enabled() const { return watchdog_interval_.count() > 0; }

 private:
  void schedule_watchdog();

  asio::steady_timer watchdog_timer_;
  std::chrono::microseconds watchdog_interval_{0};
};

}  // namespace realmd
