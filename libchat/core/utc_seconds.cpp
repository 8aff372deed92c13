#include "core/utc_seconds.hpp"

#include <chrono>

namespace chat::core {

namespace {

using std::chrono::days;
using std::chrono::sys_days;

constexpr std::int64_t seconds_per_day = 86400;

// The number in text[at, at + width), digits only.
std::optional<int> digits(std::string_view text, std::size_t at, std::size_t width) {
  int value = 0;
  for (std::size_t i = at; i < at + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

void put_digits(char* out, int value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

std::optional<std::int64_t> parse_utc_seconds(std::string_view text) {
  if (text.size() != utc_text_size || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
      text[13] != ':' || text[16] != ':' || text[19] != 'Z') {
    return std::nullopt;
  }
  const auto year = digits(text, 0, 4), month = digits(text, 5, 2), day = digits(text, 8, 2);
  const auto hour = digits(text, 11, 2), minute = digits(text, 14, 2), second = digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{*year},
                                         std::chrono::month{static_cast<unsigned>(*month)},
                                         std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
  return sys_days{date}.time_since_epoch().count() * seconds_per_day + *hour * 3600 + *minute * 60 +
         *second;
}

UtcText format_utc_seconds(std::int64_t seconds) {
  // Floor division: times before 1970 are negative.
  std::int64_t day_number = seconds / seconds_per_day;
  std::int64_t in_day = seconds % seconds_per_day;
  if (in_day < 0) {
    in_day += seconds_per_day;
    --day_number;
  }
  const std::chrono::year_month_day date{sys_days{days{day_number}}};
  UtcText out{'0', '0', '0', '0', '-', '0', '0', '-', '0', '0',
              'T', '0', '0', ':', '0', '0', ':', '0', '0', 'Z'};
  put_digits(&out[0], static_cast<int>(date.year()), 4);
  put_digits(&out[5], static_cast<int>(static_cast<unsigned>(date.month())), 2);
  put_digits(&out[8], static_cast<int>(static_cast<unsigned>(date.day())), 2);
  const int second_of_day = static_cast<int>(in_day);
  put_digits(&out[11], second_of_day / 3600, 2);
  put_digits(&out[14], second_of_day / 60 % 60, 2);
  put_digits(&out[17], second_of_day % 60, 2);
  return out;
}

}  // namespace chat::core
