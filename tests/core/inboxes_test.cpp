// The inbox's compact entries (core/inboxes.hpp): every field of a message comes back as it
// went in, times through their seconds, names through the shared table.
#include "core/inboxes.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/utc_seconds.hpp"

using namespace chat;
using core::Inboxes;
using core::UnreadMessage;

namespace {

std::string text_of(const core::UtcText& text) {
  return {text.data(), text.size()};
}

store::MessageRecord record(std::uint64_t id, std::string recipient, std::string sender_realm,
                            std::string sender = "messi") {
  return {id, std::move(recipient),          std::move(sender),      std::move(sender_realm),
          "", "hello " + std::to_string(id), "2026-11-26T22:33:16Z", false};
}

void check_same(const UnreadMessage& actual, const store::MessageRecord& expected) {
  CHECK(actual.id == expected.id);
  CHECK(actual.shown_id == expected.shown_id());
  CHECK(actual.recipient == expected.recipient);
  CHECK(actual.sender == expected.sender);
  CHECK(actual.sender_realm == expected.sender_realm);
  CHECK(actual.group == expected.group);
  CHECK(actual.text == expected.text);
  CHECK(actual.time() == expected.time);
  CHECK(actual.bounce == expected.bounce);
}

std::vector<std::uint64_t> ids(const std::vector<UnreadMessage>& messages) {
  std::vector<std::uint64_t> out;
  for (const UnreadMessage& m : messages) out.push_back(m.id);
  return out;
}

constexpr std::size_t any_size = 1 << 20;

}  // namespace

TEST_CASE("utc seconds: realmd's time form round-trips; anything else is not converted") {
  CHECK(core::parse_utc_seconds("1970-01-01T00:00:00Z") == 0);
  CHECK(core::parse_utc_seconds("2026-11-26T22:33:16Z") == 1795732396);
  CHECK(core::parse_utc_seconds("1969-12-31T23:59:59Z") == -1);
  for (const char* text : {"2026-11-26T22:33:16Z", "2024-02-29T12:00:00Z", "1969-12-31T23:59:59Z",
                           "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z",
                           "2000-03-01T00:00:01Z", "2026-12-31T23:59:59Z"}) {
    CAPTURE(text);
    const std::optional<std::int64_t> seconds = core::parse_utc_seconds(text);
    REQUIRE(seconds);
    CHECK(text_of(core::format_utc_seconds(*seconds)) == text);
  }
  for (const char* text :
       {"", "2026-11-26", "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-26T24:00:00Z",
        "2026-11-26T22:60:00Z", "2016-12-31T23:59:60Z", "2026-11-26 22:33:16Z",
        "2026-11-26T22:33:16+00:00", "2026-11-26T22:33:16.5Z", "+026-11-26T22:33:16Z",
        "2026-11-26T22:33:16z", "2026-1-126T22:33:16Z"}) {
    CAPTURE(text);
    CHECK_FALSE(core::parse_utc_seconds(text));
  }
}

TEST_CASE("name table: one number per name while it is used, reused once forgotten") {
  core::NameTable names;
  CHECK(names.acquire("") == 0);
  CHECK(names.name(0).empty());
  const std::uint32_t messi = names.acquire("messi");
  CHECK(messi != 0);
  CHECK(names.acquire("messi") == messi);
  const std::uint32_t lineker = names.acquire("lineker");
  CHECK(lineker != messi);
  names.release(messi);
  CHECK(names.name(messi) == "messi");  // one use left
  names.release(messi);
  const std::uint32_t henderson = names.acquire("henderson");
  CHECK(henderson == messi);  // its slot, reused
  CHECK(names.name(henderson) == "henderson");
  CHECK(names.name(lineker) == "lineker");
  CHECK(names.acquire("messi") != henderson);  // a new number: the old one is taken
}

TEST_CASE("inbox entries give back every field of the message") {
  Inboxes inboxes;
  store::MessageRecord group = record(5, "henderson", "beta", "ronaldo");
  group.group = "sepakbola";
  group.history_id = 4;
  group.text = "a text longer than fifteen bytes, with \"quotes\" and \xc3\xa9";
  store::MessageRecord bounce = record(6, "henderson", "beta", "beta");
  bounce.bounce = true;
  bounce.text = "short";
  store::MessageRecord odd = record(7, "henderson", "beta");
  odd.time = "2026-11-26T22:33:16.250+07:00";  // a peer's own form: kept as it came
  store::MessageRecord empty_time = record(8, "henderson", "beta");
  empty_time.time = "";
  for (const auto* r : {&group, &bounce, &odd, &empty_time}) inboxes.add_unread(*r);
  CHECK(inboxes.last_id() == 8);

  std::vector<UnreadMessage> got = inboxes.reserve_unread("henderson", "beta", any_size);
  REQUIRE(got.size() == 4);
  check_same(got[0], group);
  check_same(got[1], bounce);
  check_same(got[2], odd);
  check_same(got[3], empty_time);
  CHECK(got[0].view().id == 4);  // clients see the group message's id
  CHECK(got[0].view().time == "2026-11-26T22:33:16Z");

  // Lost, then fetched: the same again, then nothing; the odd times are forgotten with them.
  inboxes.release({5, 6, 7, 8});
  got = inboxes.reserve_unread("henderson", "beta", any_size);
  REQUIRE(got.size() == 4);
  check_same(got[2], odd);
  inboxes.remove_fetched({5, 6, 7, 8});
  CHECK(inboxes.reserve_unread("henderson", "beta", any_size).empty());
  store::MessageRecord again = record(9, "henderson", "beta", "ronaldo");
  inboxes.add_unread(again);
  got = inboxes.reserve_unread("henderson", "beta", any_size);
  REQUIRE(got.size() == 1);
  check_same(got[0], again);
}

TEST_CASE("inbox entries stay apart per user and per realm, by id, whatever order they came in") {
  Inboxes inboxes;
  // Interleaved as a store streams them (by id across all inboxes), and one older id late.
  inboxes.add_unread(record(1, "henderson", "alpha"));
  inboxes.add_unread(record(2, "messi", "alpha", "henderson"));
  inboxes.add_unread(record(3, "henderson", "beta"));
  inboxes.add_unread(record(5, "henderson", "alpha", "lineker"));
  inboxes.add_unread(record(4, "henderson", "alpha"));
  inboxes.add_unread(record(6, "messi", "alpha", "lineker"));

  CHECK(ids(inboxes.reserve_unread("henderson", "alpha", any_size)) ==
        std::vector<std::uint64_t>{1, 4, 5});
  CHECK(ids(inboxes.reserve_unread("henderson", "beta", any_size)) ==
        std::vector<std::uint64_t>{3});
  CHECK(ids(inboxes.reserve_unread("messi", "alpha", any_size)) ==
        std::vector<std::uint64_t>{2, 6});
  CHECK(inboxes.reserve_unread("messi", "beta", any_size).empty());

  // A push reserves one by id; fetching the middle one leaves the others in order.
  inboxes.release({1, 4, 5});
  CHECK(inboxes.reserve(record(4, "henderson", "alpha")));
  CHECK_FALSE(inboxes.reserve(record(4, "henderson", "alpha")));  // reserved already
  CHECK_FALSE(inboxes.reserve(record(4, "henderson", "beta")));   // not in that inbox
  inboxes.remove_fetched({4});
  CHECK(ids(inboxes.reserve_unread("henderson", "alpha", any_size)) ==
        std::vector<std::uint64_t>{1, 5});

  std::vector<std::uint64_t> seen;
  inboxes.for_each_unread("henderson", [&](const UnreadMessage& m) {
    CHECK(m.recipient == "henderson");
    seen.push_back(m.id);
  });
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<std::uint64_t>{1, 3, 5});
}

TEST_CASE("reserve_unread stops at the byte cap, but hands out at least one message") {
  Inboxes inboxes;
  for (std::uint64_t id = 1; id <= 3; ++id) inboxes.add_unread(record(id, "henderson", "alpha"));
  CHECK(ids(inboxes.reserve_unread("henderson", "alpha", 1)) == std::vector<std::uint64_t>{1});
  CHECK(ids(inboxes.reserve_unread("henderson", "alpha", any_size)) ==
        std::vector<std::uint64_t>{2, 3});
}
