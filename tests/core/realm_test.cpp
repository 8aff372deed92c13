// Every command of docs/contract.md §1.5 (1-13 as they stand before federation) against the pure
// realm logic: exact replies, errors and the order of checks. No I/O: password jobs are run
// inline with a fake hash, the clock is the test's.
#include "core/realm.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <variant>

#include "core/realm_state.hpp"
#include "core/session_key.hpp"
#include "store/memory_store.hpp"
#include "test_environment.hpp"

using namespace chat;
using core::Connection;

namespace {

class Harness {
 public:
  Harness() : realm_(settings(), environment()) {}

  static core::RealmSettings settings() {
    core::RealmSettings s;
    s.name = "alpha";
    s.admins = {"messi"};
    s.limits.max_message_bytes = 64;
    return s;
  }

  core::Environment environment() {
    return core::testing::test_environment(tokens_, [this] { return now_; });
  }

  // Handles a line as realmd would: the password job inline, mutations "committed", the
  // reply written (or lost, when `deliver` is false).
  std::string run(Connection& conn, std::string_view line, bool deliver = true) {
    core::Outcome out = realm_.handle(conn, line);
    commit(out);
    if (out.password) {
      const core::PasswordJob& job = *out.password;
      core::PasswordResult result;
      if (job.kind == core::PasswordJob::Kind::hash) {
        result = {true, "fake$" + job.password};
      } else {
        result.ok = job.hash == "fake$" + job.password;
      }
      out = realm_.resume(conn, result);
      commit(out);
    }
    if (deliver) {
      for (auto& m : realm_.reply_written(out.fetched_after_write)) committed.push_back(m);
    } else {
      realm_.reply_lost(out.fetched_after_write);
    }
    return out.reply;
  }

  void advance(std::chrono::seconds s) { now_ += s; }
  core::Realm& realm() { return realm_; }

  std::vector<store::Mutation> committed;

 private:
  void commit(core::Outcome& out) {
    for (auto& m : out.mutations) committed.push_back(m);
  }
  int tokens_ = 0;
  core::Clock::time_point now_{};
  core::Realm realm_;
};

std::string error(std::string_view message) {
  return std::string(R"({"status":"ERROR","message":")") + std::string(message) + "\"}";
}
std::string ok(std::string_view message) {
  return std::string(R"({"status":"OK","message":")") + std::string(message) + "\"}";
}
std::string token(int n) {
  char buf[37];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", n);
  return buf;
}

// A realm with messi (admin), henderson and lineker registered; each on its own connection.
struct World {
  Harness h;
  Connection messi{1}, henderson{2}, lineker{3}, anon{4};
  World() {
    h.run(messi, "register messi surabaya Lionel_Messi Argentina");
    h.run(henderson, "register henderson surabaya Jordan_Henderson Inggris");
    h.run(lineker, "register lineker surabaya Gary_Lineker Inggris");
  }
};

}  // namespace

TEST_CASE("register: the seed's example, then auth with the password") {
  Harness h;
  Connection c{1};
  CHECK(h.run(c, "register jokowi 123 joko_widodo indonesia") ==
        R"({"status":"OK","message":"User registered","tokenid":")" + token(1) + "\"}");
  CHECK(c.user == "jokowi");
  // The store receives the hash, never the password; then the session, by its token's hash.
  REQUIRE(h.committed.size() == 2);
  const auto& put = std::get<store::PutUser>(h.committed[0]);
  CHECK(put.user.password_hash == "fake$123");
  CHECK(put.user.nama == "joko_widodo");
  CHECK(std::get<store::PutSession>(h.committed[1]).session ==
        store::SessionRecord{core::session_key(token(1)), "jokowi"});
  Connection other{2};
  CHECK(h.run(other, "register jokowi 456 x y") == error("User sudah ada"));
  CHECK(h.run(other, "auth jokowi 123") == R"({"status":"OK","tokenid":")" + token(2) + "\"}");
  CHECK(h.run(other, "auth jokowi 999") == error("Password Salah"));
  CHECK(h.run(other, "auth nobody 999") == error("User Tidak Ada"));
}

TEST_CASE("order of checks: unknown command, parameters, session, then the command's own") {
  World w;
  CHECK(w.h.run(w.anon, "frobnicate") == error("*Maaf, command tidak benar"));
  CHECK(w.h.run(w.anon, "frobnicate a b c") == error("*Maaf, command tidak benar"));
  CHECK(w.h.run(w.anon, "send") == error("Parameter salah / tidak ada"));
  CHECK(w.h.run(w.anon, "send henderson") == error("Parameter salah / tidak ada"));
  CHECK(w.h.run(w.anon, "send nobody hello") == error("Session tidak ditemukan"));
  CHECK(w.h.run(w.anon, "inbox") == error("Session tidak ditemukan"));
  CHECK(w.h.run(w.messi, "send nobody hello") == error("User tidak ditemukan"));
}

TEST_CASE("parameters: names, fields, surplus and missing ones") {
  World w;
  CHECK(w.h.run(w.anon, "auth messi") == error("Parameter salah / tidak ada"));
  CHECK(w.h.run(w.anon, "auth messi surabaya extra") == error("Parameter salah / tidak ada"));
  CHECK(w.h.run(w.anon, "register a/b p n c") == error("Parameter salah / tidak ada"));
  CHECK(w.h.run(w.anon, "register " + std::string(33, 'u') + " p n c") ==
        error("Parameter salah / tidak ada"));
  CHECK(w.h.run(w.anon, "register u " + std::string(129, 'p') + " n c") ==
        error("Parameter salah / tidak ada"));
  CHECK(w.h.run(w.messi, "inbox now") == error("Parameter salah / tidak ada"));
  CHECK(w.h.run(w.messi, "logout now") == error("Parameter salah / tidak ada"));
  CHECK(w.h.run(w.messi, "addgroup bad/name") == error("Parameter salah / tidak ada"));
  CHECK(w.h.run(w.messi, "info") == error("Parameter salah / tidak ada"));
  CHECK(w.h.run(w.messi, "addrealm beta host") == error("Parameter salah / tidak ada"));
  CHECK(w.h.run(w.messi, "addrealm beta host 70000") == error("Parameter salah / tidak ada"));
  CHECK(w.h.run(w.messi, "addrealm beta host 0") == error("Parameter salah / tidak ada"));
  // Message text over the limit (64 bytes in this harness).
  CHECK(w.h.run(w.messi, "send henderson " + std::string(65, 'x')) ==
        error("Parameter salah / tidak ada"));
  CHECK(w.h.run(w.messi, "send henderson " + std::string(64, 'x')) == ok("Message sent"));
}

TEST_CASE(
    "a request is one line of UTF-8: bad bytes or a line break inside are a bad parameter "
    "before anything else, and change nothing") {
  World w;
  const std::size_t committed = w.h.committed.size();
  using namespace std::string_literals;
  for (const std::string& line :
       {"send henderson caf\xc3"s, "send henderson \xed\xa0\x80"s, "send henderson a\0b"s,
        "send henderson one\nsend lineker two"s, "frobnicate \xff"s, "\xff"s, "\n"s}) {
    CAPTURE(line);
    CHECK(w.h.run(w.messi, line) == error("Parameter salah / tidak ada"));
  }
  CHECK(w.h.committed.size() == committed);  // nothing was sent
  CHECK(w.h.run(w.messi, "send henderson caf\xc3\xa9") == ok("Message sent"));
}

TEST_CASE("blank lines get no reply; the command word is case-insensitive") {
  World w;
  core::Outcome out = w.h.realm().handle(w.messi, "");
  CHECK_FALSE(out.has_reply());
  CHECK_FALSE(out.password.has_value());
  out = w.h.realm().handle(w.messi, "     ");
  CHECK_FALSE(out.has_reply());
  CHECK(w.h.run(w.messi, "SEND henderson hi") == ok("Message sent"));
  CHECK(w.h.run(w.messi, "SeNdGrOuP nogroup hi") == error("Group tidak ditemukan"));
  // Parameters are case-sensitive.
  CHECK(w.h.run(w.messi, "send Henderson hi") == error("User tidak ditemukan"));
}

TEST_CASE("send and inbox: text rules, grouping by sender, fetched once delivered") {
  World w;
  CHECK(w.h.run(w.messi, "send henderson   hello   there  \t ") == ok("Message sent"));
  CHECK(w.h.run(w.lineker, "send henderson hi") == ok("Message sent"));
  CHECK(w.h.run(w.messi, "send henderson second") == ok("Message sent"));
  std::string expected =
      R"({"status":"OK","messages":{"messi":[)"
      R"({"id":1,"msg_from":"messi","msg_to":"henderson","msg":"hello   there","realm":"alpha","time":"2026-11-26T22:33:16Z"},)"
      R"({"id":3,"msg_from":"messi","msg_to":"henderson","msg":"second","realm":"alpha","time":"2026-11-26T22:33:16Z"}],)"
      R"("lineker":[{"id":2,"msg_from":"lineker","msg_to":"henderson","msg":"hi","realm":"alpha","time":"2026-11-26T22:33:16Z"}]}})";
  // A reply lost to a dropped connection is returned again ...
  CHECK(w.h.run(w.henderson, "inbox", /*deliver=*/false) == expected);
  CHECK(w.h.run(w.henderson, "inbox") == expected);
  // ... and nothing is returned twice after a reply was delivered.
  CHECK(w.h.run(w.henderson, "inbox") == R"({"status":"OK","messages":{}})");
  CHECK(std::holds_alternative<store::MarkFetched>(w.h.committed.back()));
}

TEST_CASE("inbox: messages reserved by an unwritten reply are not handed out twice") {
  World w;
  w.h.run(w.messi, "send henderson one");
  Connection second{9};
  w.h.run(second, "auth henderson surabaya");
  core::Outcome first = w.h.realm().handle(w.henderson, "inbox");
  CHECK(first.fetched_after_write.size() == 1);
  // A second connection of the same user asks while the first reply is still unwritten.
  CHECK(w.h.run(second, "inbox") == R"({"status":"OK","messages":{}})");
  w.h.realm().reply_lost(first.fetched_after_write);
  CHECK(w.h.run(second, "inbox").find("\"one\"") != std::string::npos);
}

TEST_CASE("groups: addgroup, joingroup, sendgroup reach every member but the sender") {
  World w;
  CHECK(w.h.run(w.messi, "addgroup kominfo") == ok("Add group successful"));
  CHECK(w.h.run(w.henderson, "addgroup kominfo") == error("Group sudah ada"));
  CHECK(w.h.run(w.messi, "joingroup kominfo") == error("User sudah dalam group"));
  CHECK(w.h.run(w.henderson, "joingroup nogroup") == error("Group tidak ditemukan"));
  CHECK(w.h.run(w.lineker, "sendgroup kominfo hi") == error("User bukan anggota group"));
  CHECK(w.h.run(w.henderson, "joingroup kominfo") == ok("Join group successful"));
  CHECK(w.h.run(w.henderson, "sendgroup kominfo halo semua") == ok("Message sent to group"));
  CHECK(
      w.h.run(w.messi, "inbox")
          .find(
              R"("msg_from":"henderson","msg_to":"messi","msg":"halo semua","realm":"alpha","time":"2026-11-26T22:33:16Z","group":"kominfo"})") !=
      std::string::npos);
  CHECK(w.h.run(w.henderson, "inbox") == R"({"status":"OK","messages":{}})");
  CHECK(w.h.run(w.lineker, "inbox") == R"({"status":"OK","messages":{}})");
}

TEST_CASE("a group message is one store mutation for all its members, text held once") {
  World w;
  w.h.run(w.messi, "addgroup kominfo");
  w.h.run(w.henderson, "joingroup kominfo");
  w.h.run(w.lineker, "joingroup kominfo");
  const std::size_t before = w.h.committed.size();
  CHECK(w.h.run(w.messi, "sendgroup kominfo rapat jam 9") == ok("Message sent to group"));
  // Its history row, then one PutGroupMessage: no PutMessage per member.
  REQUIRE(w.h.committed.size() == before + 2);
  const auto& history = std::get<store::PutHistory>(w.h.committed[before]).message;
  const auto& group = std::get<store::PutGroupMessage>(w.h.committed[before + 1]);
  CHECK(group.message.text == "rapat jam 9");
  CHECK(group.message.group == "kominfo");
  CHECK(group.message.sender == "messi");
  CHECK(group.message.history_id == history.id);
  REQUIRE(group.deliveries.size() == 2);  // every member but the sender
  CHECK(group.deliveries[0].recipient == "henderson");
  CHECK(group.deliveries[1].recipient == "lineker");
  CHECK(group.deliveries[0].id > history.id);
  CHECK(group.deliveries[1].id == group.deliveries[0].id + 1);
  // The members' inboxes have it under the history id.
  const std::string shown = R"("id":)" + std::to_string(history.id);
  CHECK(w.h.run(w.henderson, "inbox").find(shown) != std::string::npos);
  CHECK(w.h.run(w.lineker, "inbox").find(shown) != std::string::npos);
}

TEST_CASE("info: the user's data, online state, never the password") {
  World w;
  CHECK(
      w.h.run(w.messi, "info henderson") ==
      R"({"status":"OK","data":{"username":"henderson","nama":"Jordan_Henderson","negara":"Inggris","realm":"alpha","online":true}})");
  w.h.run(w.henderson, "logout");
  CHECK(w.h.run(w.messi, "info henderson").find(R"("online":false)") != std::string::npos);
  CHECK(w.h.run(w.messi, "info nobody") == error("User tidak ditemukan"));
  w.h.realm().disconnected(w.messi);
  CHECK(w.h.run(w.lineker, "info messi").find(R"("online":false)") != std::string::npos);
}

TEST_CASE("logout ends the session at once") {
  World w;
  CHECK(w.h.run(w.messi, "logout") == ok("Logout successful"));
  CHECK(w.h.run(w.messi, "inbox") == error("Session tidak ditemukan"));
  CHECK(w.h.run(w.messi, "logout") == error("Session tidak ditemukan"));
}

TEST_CASE("token mode: the token as first parameter, from any connection") {
  World w;
  std::string t = token(1);  // messi's, from World's first register
  Connection course{42};
  CHECK(w.h.run(course, "send " + t + " henderson hello  ") == ok("Message sent"));
  CHECK(w.h.run(course, "inbox " + t) == R"({"status":"OK","messages":{}})");
  CHECK(w.h.run(course, "send 11111111-2222-4333-8444-555555555555 henderson hello") ==
        error("Session tidak ditemukan"));
  CHECK(w.h.run(course, "inbox " + t + " extra") == error("Parameter salah / tidak ada"));
  // Logging out by token ends that session only.
  CHECK(w.h.run(course, "logout " + t) == ok("Logout successful"));
  CHECK(w.h.run(course, "inbox " + t) == error("Session tidak ditemukan"));
  CHECK(w.h.run(w.henderson, "inbox").find("hello") != std::string::npos);
}

TEST_CASE("auth: 5 failures in 60 s lock that username from that address for 60 s") {
  World w;
  Connection attacker{50};
  attacker.address = "10.9.9.9";
  for (int i = 0; i < 5; ++i)
    CHECK(w.h.run(attacker, "auth messi wrong") == error("Password Salah"));
  CHECK(w.h.run(attacker, "auth messi surabaya") ==
        error("Terlalu banyak percobaan, coba lagi nanti"));
  Connection same_address{51};
  same_address.address = "10.9.9.9";
  CHECK(w.h.run(same_address, "auth messi surabaya") ==
        error("Terlalu banyak percobaan, coba lagi nanti"));
  Connection honest{52};
  honest.address = "10.1.1.1";
  // Other users are not locked out.
  CHECK(w.h.run(honest, "auth henderson surabaya").find(R"("status":"OK")") != std::string::npos);
  w.h.advance(std::chrono::seconds(61));
  CHECK(w.h.run(same_address, "auth messi surabaya").find(R"("status":"OK")") != std::string::npos);
}

TEST_CASE(
    "auth: a lockout never refuses the right password from another address "
    "(regression: anyone could lock anyone out)") {
  World w;
  for (int i = 0; i < 5; ++i) {
    Connection attacker{200 + static_cast<std::uint64_t>(i)};
    attacker.address = "203.0.113.7";
    w.h.run(attacker, "auth messi wrong");
  }
  Connection owner{300};
  owner.address = "198.51.100.1";
  CHECK(w.h.run(owner, "auth messi surabaya").find(R"("status":"OK")") != std::string::npos);
}

TEST_CASE("auth: many failures from anywhere slow a username down for everyone, no refusal") {
  World w;
  const auto job_delay = [&](Connection& c) {
    core::Outcome out = w.h.realm().handle(c, "auth messi surabaya");
    REQUIRE(out.password.has_value());
    const auto delay = out.password->delay;
    w.h.realm().resume(c, {true, {}});
    return delay;
  };
  Connection owner{400};
  owner.address = "198.51.100.1";
  CHECK(job_delay(owner) == std::chrono::milliseconds(0));
  const int slow_after = core::RealmSettings{}.slow_after_failed_auths;
  for (int i = 0; i < slow_after; ++i) {
    Connection attacker{500 + static_cast<std::uint64_t>(i)};
    attacker.address = "203.0.113." + std::to_string(i);  // one try per address
    CHECK(w.h.run(attacker, "auth messi wrong") == error("Password Salah"));
  }
  Connection owner2{401};
  owner2.address = "198.51.100.1";
  CHECK(job_delay(owner2) == core::RealmSettings{}.auth_slowdown);
  w.h.advance(std::chrono::seconds(61));  // the window passes: full speed again
  Connection owner3{402};
  owner3.address = "198.51.100.1";
  CHECK(job_delay(owner3) == std::chrono::milliseconds(0));
}

TEST_CASE("failed logins, lockouts and admin actions are audit events, never with a password") {
  World w;
  Connection attacker{600};
  attacker.address = "203.0.113.9";
  core::Outcome out = w.h.realm().handle(attacker, "auth nobody secret1");
  CHECK(out.audit == std::vector<std::string>{"failed login: no user nobody"});
  for (int i = 0; i < 5; ++i) {
    Connection from_same_address{610 + static_cast<std::uint64_t>(i)};
    from_same_address.address = attacker.address;
    out = w.h.realm().handle(from_same_address, "auth messi hunter2");
    REQUIRE(out.password);
    out = w.h.realm().resume(from_same_address, {false, {}});
    REQUIRE_FALSE(out.audit.empty());
    CHECK(out.audit[0] == "failed login: wrong password for user messi");
  }
  CHECK(out.audit.back() == "auth locked for user messi from this address for 60 s");
  out = w.h.realm().handle(attacker, "auth messi surabaya");
  CHECK(out.audit == std::vector<std::string>{"auth refused, too many failures: user messi"});
  for (const std::string& event : out.audit) CHECK(event.find("hunter2") == std::string::npos);
  out = w.h.realm().handle(w.messi, "addrealm zeta 127.0.0.1 9999");
  CHECK(out.audit == std::vector<std::string>{"admin messi: addrealm zeta 127.0.0.1 9999"});
  out = w.h.realm().handle(w.henderson, "addrealm zeta2 127.0.0.1 9999");
  CHECK(out.audit == std::vector<std::string>{"admin command refused: addrealm by non-admin "
                                              "henderson"});
}

TEST_CASE("auth: one connection probing many usernames is locked, not the users") {
  World w;
  Connection prober{60};
  for (int i = 0; i < 5; ++i) {
    CHECK(w.h.run(prober, "auth ghost" + std::to_string(i) + " x") == error("User Tidak Ada"));
  }
  CHECK(w.h.run(prober, "auth messi surabaya") ==
        error("Terlalu banyak percobaan, coba lagi nanti"));
  Connection other{61};
  CHECK(w.h.run(other, "auth messi surabaya").find(R"("status":"OK")") != std::string::npos);
}

TEST_CASE("realm commands before federation: own realm works, others are not peers") {
  World w;
  CHECK(w.h.run(w.henderson, "addrealm beta 127.0.0.1 9890") == error("Akses ditolak"));
  CHECK(w.h.run(w.messi, "addrealm alpha") == error("Realm sudah ada"));
  CHECK(w.h.run(w.messi, "addrealm beta") == error("Realm tidak ditemukan"));
  CHECK(w.h.run(w.messi, "sendprivaterealm beta jokowi hi") == error("Realm/User tidak ditemukan"));
  CHECK(w.h.run(w.messi, "sendprivaterealm alpha nobody hi") ==
        error("Realm/User tidak ditemukan"));
  CHECK(w.h.run(w.messi, "sendprivaterealm alpha henderson hi  there") ==
        ok("Message sent to user in realm"));
  CHECK(w.h.run(w.messi, "sendgrouprealm beta kominfo hi") == error("Realm/Group tidak ditemukan"));
  CHECK(w.h.run(w.messi, "getrealminbox beta") == error("Realm tidak ditemukan"));
  CHECK(
      w.h.run(w.henderson, "getrealminbox alpha") ==
      R"({"status":"OK","realm":"alpha","messages":{"messi":[{"id":1,"msg_from":"messi","msg_to":"henderson","msg":"hi  there","realm":"alpha","time":"2026-11-26T22:33:16Z"}]},"synced":true})");
}

TEST_CASE("load restores users, groups and unread messages; ids continue") {
  store::Snapshot snap;
  snap.users.push_back({"messi", "fake$surabaya", "Lionel_Messi", "Argentina"});
  snap.users.push_back({"henderson", "fake$surabaya", "Jordan_Henderson", "Inggris"});
  snap.groups.push_back({"kominfo", {"messi", "henderson"}});
  snap.unread.push_back(
      {7, "henderson", "messi", "alpha", "", "old", "2026-11-26T22:00:00Z", false});
  snap.max_id = 9;
  Harness h;
  h.realm().load(snap);
  Connection c{1};
  CHECK(h.run(c, "auth henderson surabaya").find(R"("status":"OK")") != std::string::npos);
  CHECK(h.run(c, "joingroup kominfo") == error("User sudah dalam group"));
  CHECK(h.run(c, "send messi new") == ok("Message sent"));
  CHECK(std::get<store::PutMessage>(h.committed.back()).message.id == 10);
  CHECK(h.run(c, "inbox").find(R"("id":7,"msg_from":"messi")") != std::string::npos);
}

TEST_CASE("a connection whose session ended elsewhere has no session any more") {
  World w;
  Connection course{70};
  std::string messi_token = token(1);
  CHECK(w.h.run(course, "logout " + messi_token) == ok("Logout successful"));
  CHECK(w.h.run(w.messi, "inbox") == error("Session tidak ditemukan"));
  CHECK(w.h.run(w.lineker, "info messi").find(R"("online":false)") != std::string::npos);
}

TEST_CASE("session_key is the SHA-256 of the token, hex; never the token") {
  // FIPS 180-2's test vector for "abc".
  CHECK(core::session_key("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(core::session_key(token(1)).size() == 64);
  CHECK(core::session_key(token(1)) != core::session_key(token(2)));
}

TEST_CASE("sessions are stored: auth puts one, logout and a new auth delete the old one") {
  World w;
  Connection c{80};
  w.h.committed.clear();
  CHECK(w.h.run(c, "auth messi surabaya") == R"({"status":"OK","tokenid":")" + token(4) + "\"}");
  REQUIRE(w.h.committed.size() == 1);
  CHECK(std::get<store::PutSession>(w.h.committed[0]).session ==
        store::SessionRecord{core::session_key(token(4)), "messi"});

  // A second auth on the same connection replaces its session.
  w.h.committed.clear();
  w.h.run(c, "auth henderson surabaya");
  REQUIRE(w.h.committed.size() == 2);
  CHECK(std::get<store::DeleteSession>(w.h.committed[0]).token_hash == core::session_key(token(4)));
  CHECK(std::get<store::PutSession>(w.h.committed[1]).session.user == "henderson");

  w.h.committed.clear();
  CHECK(w.h.run(c, "logout") == ok("Logout successful"));
  REQUIRE(w.h.committed.size() == 1);
  CHECK(std::get<store::DeleteSession>(w.h.committed[0]).token_hash == core::session_key(token(5)));
}

TEST_CASE("the per-user session cap deletes the evicted session from the store too") {
  World w;  // messi holds token(1)
  std::vector<Connection> others;
  for (std::uint64_t id = 100; id < 100 + core::max_sessions_per_user; ++id)
    others.emplace_back(id);
  for (std::size_t i = 1; i < core::max_sessions_per_user; ++i) {
    w.h.run(others[i], "auth messi surabaya");
  }
  w.h.committed.clear();
  Connection c{81};
  w.h.run(c, "auth messi surabaya");  // one past the cap: the oldest (token 1) goes
  REQUIRE(w.h.committed.size() == 2);
  CHECK(std::get<store::DeleteSession>(w.h.committed[0]).token_hash == core::session_key(token(1)));
  CHECK(w.h.run(c, "inbox " + token(1)) == error("Session tidak ditemukan"));
}

TEST_CASE("a token stays valid across a restart (load) until logout, by token or connection") {
  store::MemoryStore store;
  {
    World w;  // messi token(1), henderson token(2), lineker token(3)
    Connection c{90};
    CHECK(w.h.run(c, "logout " + token(3)) == ok("Logout successful"));
    store.commit(w.h.committed);
  }
  // Hashes only: no token reaches the store.
  for (const store::SessionRecord& s : store.load().sessions) CHECK(s.token_hash.size() == 64);
  CHECK(store.load().sessions.size() == 2);

  Harness restarted;
  restarted.realm().load(store.load());
  Connection course{91};
  CHECK(restarted.run(course, "send " + token(1) + " henderson after restart") ==
        ok("Message sent"));
  CHECK(restarted.run(course, "inbox " + token(2)).find("after restart") != std::string::npos);
  CHECK(restarted.run(course, "inbox " + token(3)) == error("Session tidak ditemukan"));
  CHECK(restarted.run(course, "logout " + token(1)) == ok("Logout successful"));
  CHECK(restarted.run(course, "inbox " + token(1)) == error("Session tidak ditemukan"));
}

TEST_CASE(
    "a session ended from another connection ends its watch and its online at once "
    "(regression: pushes went on and marked the owner's messages read)") {
  World w;
  CHECK(w.h.run(w.messi, "watch") == ok("Watching"));
  Connection course{70};
  CHECK(w.h.run(course, "logout " + token(1)) == ok("Logout successful"));
  // No request from messi's connection in between: the state is right by itself.
  CHECK(w.h.run(w.lineker, "info messi").find(R"("online":false)") != std::string::npos);
  core::Outcome out = w.h.realm().handle(w.henderson, "send messi after logout");
  CHECK(out.pushes.empty());
  // The message waits, unread, for messi's next session.
  Connection again{71};
  w.h.run(again, "auth messi surabaya");
  CHECK(w.h.run(again, "inbox").find("after logout") != std::string::npos);
  // The old connection closing later counts nothing twice.
  w.h.realm().disconnected(w.messi);
  CHECK(w.h.run(w.lineker, "info messi").find(R"("online":true)") != std::string::npos);
}

TEST_CASE("the per-user session cap ends the oldest session's watch and online as well") {
  World w;
  CHECK(w.h.run(w.henderson, "watch") == ok("Watching"));
  std::vector<Connection> others;
  others.reserve(core::max_sessions_per_user);
  for (std::size_t i = 0; i < core::max_sessions_per_user; ++i) {
    others.emplace_back(100 + i);
    w.h.run(others.back(), "auth henderson surabaya");
  }
  // henderson's first session was evicted: its connection is no longer pushed to.
  core::Outcome out = w.h.realm().handle(w.messi, "send henderson evicted");
  CHECK(out.pushes.empty());
  CHECK(w.h.run(w.henderson, "inbox") == error("Session tidak ditemukan"));
  for (Connection& c : others) w.h.realm().disconnected(c);
  CHECK(w.h.run(w.lineker, "info henderson").find(R"("online":false)") != std::string::npos);
}

TEST_CASE("watch: new messages are pushed to watching connections, once fetched") {
  World w;
  w.h.run(w.messi, "send henderson before watch");
  CHECK(w.h.run(w.henderson, "watch") == ok("Watching"));
  core::Outcome out = w.h.realm().handle(w.messi, "send henderson live   one");
  REQUIRE(out.pushes.size() == 1);
  CHECK(out.pushes[0].connection == w.henderson.id);
  CHECK(
      out.pushes[0].event ==
      R"({"event":"message","message":{"id":2,"msg_from":"messi","msg_to":"henderson","msg":"live   one","realm":"alpha","time":"2026-11-26T22:33:16Z"}})");
  CHECK(out.pushes[0].fetched_after_write == std::vector<std::uint64_t>{2});
  w.h.realm().reply_written(out.pushes[0].fetched_after_write);
  // inbox has the message from before `watch`, not the pushed one.
  std::string inbox = w.h.run(w.henderson, "inbox");
  CHECK(inbox.find("before watch") != std::string::npos);
  CHECK(inbox.find("live") == std::string::npos);
  // A push lost to a dropped connection stays in the inbox.
  out = w.h.realm().handle(w.messi, "send henderson lost push");
  REQUIRE(out.pushes.size() == 1);
  w.h.realm().reply_lost(out.pushes[0].fetched_after_write);
  CHECK(w.h.run(w.henderson, "inbox").find("lost push") != std::string::npos);
  // Group messages are pushed too; unwatch stops it; the sender is not pushed its own.
  w.h.run(w.messi, "addgroup kominfo");
  w.h.run(w.henderson, "joingroup kominfo");
  out = w.h.realm().handle(w.messi, "sendgroup kominfo rapat");
  REQUIRE(out.pushes.size() == 1);
  CHECK(out.pushes[0].event.find(R"("group":"kominfo")") != std::string::npos);
  CHECK(w.h.run(w.henderson, "unwatch") == ok("Watching stopped"));
  CHECK(w.h.realm().handle(w.messi, "send henderson quiet").pushes.empty());
  // Disconnecting and logging out stop it as well.
  w.h.run(w.henderson, "watch");
  w.h.realm().disconnected(w.henderson);
  CHECK(w.h.realm().handle(w.messi, "send henderson gone").pushes.empty());
}

TEST_CASE("a message of blanks only is a bad parameter, tabs included (regression)") {
  World w;
  for (const char* line : {"send henderson \t\t", "send henderson \t \t ", "sendgroup g \t",
                           "sendprivaterealm beta jokowi \t"}) {
    CAPTURE(line);
    CHECK(w.h.run(w.messi, line) == error("Parameter salah / tidak ada"));
  }
  CHECK(w.h.run(w.messi, "send henderson \tindented") == ok("Message sent"));
}

TEST_CASE(
    "watch TOKEN on a connection without a session binds that session: a resumed client "
    "is live again, and the watch ends with the session") {
  World w;
  Connection resumed{80};
  CHECK(w.h.run(resumed, "watch " + token(2)) == ok("Watching"));  // henderson's token
  CHECK(w.h.run(w.lineker, "info henderson").find(R"("online":true)") != std::string::npos);
  core::Outcome out = w.h.realm().handle(w.messi, "send henderson live again");
  REQUIRE(out.pushes.size() == 1);
  CHECK(out.pushes[0].connection == resumed.id);
  // The connection acts as henderson from now on, without the token.
  CHECK(w.h.run(resumed, "inbox") == R"({"status":"OK","messages":{}})");
  // Another user's token on a connection already bound stays refused.
  CHECK(w.h.run(resumed, "watch " + token(3)) == error("Session tidak ditemukan"));
  // Ending the session elsewhere ends the watch.
  Connection other{81};
  CHECK(w.h.run(other, "logout " + token(2)) == ok("Logout successful"));
  CHECK(w.h.realm().handle(w.messi, "send henderson gone").pushes.empty());
}
