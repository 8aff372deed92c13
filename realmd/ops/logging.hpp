#pragma once
#include <filesystem>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace realmd {

enum class LogFormat { text, json };

// Where realmd logs (docs/operations.md "Logs"): stderr, or a file (`--log-file`) that
// reopen() opens again by name, so that logrotate can move it away and signal SIGHUP. Text
// lines for people, or one JSON object a line (`--log-format json`) for log shippers:
// {"time":"2026-12-01T07:00:00.123Z","level":"info","logger":"realmd","msg":"..."}.
// Installs the default logger ("realmd") and the audit logger (audit()) on the same sink.
class Logging {
 public:
  // Throws spdlog::spdlog_ex when the file cannot be opened.
  Logging(LogFormat format, const std::filesystem::path& file, const std::string& level);
  ~Logging();
  Logging(const Logging&) = delete;
  Logging& operator=(const Logging&) = delete;

  // Closes and reopens the log file by its name (after a rotation); false for stderr.
  bool reopen();
  const std::filesystem::path& file() const { return file_; }

 private:
  class ReopenableFileSink;
  std::filesystem::path file_;
  std::shared_ptr<ReopenableFileSink> file_sink_;
};

// The audit trail: security- and operations-relevant events (links up and down, failovers,
// ...), one line each, on the logger named "audit". Never a password, token or secret.
spdlog::logger& audit();

}  // namespace realmd
