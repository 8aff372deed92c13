#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

// A message's time as the inbox keeps it: seconds since 1970-01-01T00:00:00Z instead of its
// 20-character text (a heap allocation per message; docs/performance.md, "Restart with
// 1,000,000 unread"). Only the exact form realmd stamps, RFC 3339 UTC with whole seconds, is
// converted; the text formatted back is then byte for byte the one parsed.
namespace chat::core {

inline constexpr std::size_t utc_text_size = 20;  // 2026-11-26T22:33:16Z
using UtcText = std::array<char, utc_text_size>;

// The seconds of `text` when it is exactly YYYY-MM-DDTHH:MM:SSZ (a real date, hour < 24,
// minute and second < 60); nothing otherwise (another form, a leap second), which the
// caller keeps as text.
std::optional<std::int64_t> parse_utc_seconds(std::string_view text);
// `seconds` as YYYY-MM-DDTHH:MM:SSZ (years 0000-9999, which parse_utc_seconds gives).
UtcText format_utc_seconds(std::int64_t seconds);

}  // namespace chat::core
