#include "ops/logging.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/details/file_helper.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace realmd {
namespace {

constexpr const char* audit_logger_name = "audit";

// %j: the message as a JSON string, quotes included (RapidJSON escapes it).
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    append_json_string(std::string_view(msg.payload.data(), msg.payload.size()), dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
  static void append_json_string(std::string_view text, spdlog::memory_buf_t& dest) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
    dest.append(buffer.GetString(), buffer.GetString() + buffer.GetSize());
  }
};

std::unique_ptr<spdlog::formatter> make_formatter(LogFormat format) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (format == LogFormat::json) {
    // Times in UTC (%Y... with pattern_time_type::utc), names are plain words: only the
    // message needs escaping.
    formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","msg":%j})");
  } else {
    formatter->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] %v");
  }
  return formatter;
}

}  // namespace

// spdlog's basic_file_sink cannot reopen its file; its file_helper can.
class Logging::ReopenableFileSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ReopenableFileSink(const std::filesystem::path& file) { file_.open(file.string()); }
  void reopen() {
    std::lock_guard lock(mutex_);
    file_.reopen(false);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    file_.write(formatted);
  }
  void flush_() override { file_.flush(); }

 private:
  spdlog::details::file_helper file_;
};

Logging::Logging(LogFormat format, const std::filesystem::path& file, const std::string& level)
    : file_(file) {
  spdlog::sink_ptr sink;
  if (file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    file_sink_ = std::make_shared<ReopenableFileSink>(file);
    sink = file_sink_;
  }
  sink->set_formatter(make_formatter(format));
  auto main_logger = std::make_shared<spdlog::logger>("realmd", sink);
  auto audit_logger = std::make_shared<spdlog::logger>(audit_logger_name, sink);
  spdlog::drop(audit_logger_name);
  spdlog::register_logger(audit_logger);
  spdlog::set_default_logger(main_logger);
  spdlog::set_level(spdlog::level::from_str(level));
  // A line per event reaches the file at once: tests and `tail -f` see it, a crash loses none.
  spdlog::flush_on(spdlog::level::trace);
}

Logging::~Logging() {
  spdlog::drop(audit_logger_name);
}

bool Logging::reopen() {
  if (!file_sink_) return false;
  file_sink_->reopen();
  return true;
}

spdlog::logger& audit() {
  if (auto logger = spdlog::get(audit_logger_name)) return *logger;
  return *spdlog::default_logger();  // in-process tests without Logging
}

}  // namespace realmd
