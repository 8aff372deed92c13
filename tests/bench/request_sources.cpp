#include "request_sources.hpp"

#include <utility>

namespace chatbench {

std::string bench_user(std::size_t index) {
  // Appending, not "b" + to_string(): g++ 12 -O3 warns (-Wrestrict) on the latter, falsely.
  std::string name = "b";
  return name.append(std::to_string(index));
}

std::string random_text(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int> letter('a', 'z');
  std::string text(size, 'x');
  for (char& c : text) c = static_cast<char>(letter(random));
  return text;
}

bool ScriptSource::next(std::string& out) {
  if (next_ == lines_.size()) return false;
  out += lines_[next_++];
  out += '\n';
  return true;
}

RandomRecipientSource::RandomRecipientSource(Form form, std::string prefix, std::size_t users,
                                             std::string text, std::uint64_t seed)
    : form_(form),
      prefix_(std::move(prefix)),
      text_(std::move(text)),
      random_(seed),
      recipient_(0, users - 1) {}

bool RandomRecipientSource::next(std::string& out) {
  const std::string user = std::to_string(recipient_(random_));
  if (form_ == Form::redis_rpush) {
    // The inline protocol: one line, arguments split on spaces, quotes group one argument.
    out.append("RPUSH inbox:b").append(user).append(" \"").append(text_).append("\"\r\n");
  } else {
    out.append(prefix_).append(" b").append(user).append(" ").append(text_).append("\n");
  }
  return true;
}

bool RepeatSource::next(std::string& out) {
  out += line_;
  out += '\n';
  return true;
}

SendThenInboxSource::SendThenInboxSource(std::size_t users, std::string text, std::uint64_t seed)
    : sends_(RandomRecipientSource::Form::send, "send", users, std::move(text), seed) {}

bool SendThenInboxSource::next(std::string& out) {
  inbox_next_ = !inbox_next_;
  if (!inbox_next_) {
    out += "inbox\n";
    return true;
  }
  return sends_.next(out);
}

HistoryPageSource::HistoryPageSource(std::string partner, std::size_t page_size,
                                     std::uint64_t max_id, std::uint64_t seed)
    : prefix_("history user "), random_(seed), before_(1, max_id + 1) {
  prefix_.append(partner).append(" ").append(std::to_string(page_size)).append(" ");
}

bool HistoryPageSource::next(std::string& out) {
  out.append(prefix_).append(std::to_string(before_(random_))).append("\n");
  return true;
}

}  // namespace chatbench
