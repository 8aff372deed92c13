// A real realmd, killed with SIGKILL right after acknowledging a pipelined burst: after a
// restart on the same data_dir every acknowledged change is there (docs/contract.md §1.7).
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <numeric>
#include <string>
#include <vector>

#include "support/line_client.hpp"
#include "support/realmd_process.hpp"
#include "support/temp_dir.hpp"

using test_support::LineClient;
using test_support::RealmdProcess;
using test_support::TempDir;

namespace {

bool is_ok(const std::string& reply) {
  return reply.starts_with(R"({"status":"OK")");
}

}  // namespace

TEST_CASE("kill -9 after the acks loses no acknowledged message, user, group or member") {
  TempDir dir;
  RealmdProcess realmd(dir.path(), RealmdProcess::config_yaml("alpha", dir.path() / "data"));
  realmd.start();

  constexpr int burst = 500;
  int acked = 0;
  {
    LineClient alice(realmd.client_port());
    LineClient bob(realmd.client_port());
    REQUIRE(is_ok(alice.request("register alice pw Alice_A Wonderland")));
    REQUIRE(is_ok(bob.request("register bob pw Bob_B Builder")));
    REQUIRE(is_ok(alice.request("addgroup crew")));
    REQUIRE(is_ok(bob.request("joingroup crew")));

    std::string sends;
    for (int i = 0; i < burst; ++i) sends += "send bob message-" + std::to_string(i) + "\n";
    alice.send_raw(sends);
    for (int i = 0; i < burst; ++i) {
      if (alice.expect_reply() == R"({"status":"OK","message":"Message sent"})") ++acked;
    }
    realmd.kill9();  // at once: nothing gets a chance to flush after the last ack
  }

  realmd.start();
  LineClient alice(realmd.client_port());
  LineClient bob(realmd.client_port());
  CHECK(is_ok(alice.request("auth alice pw")));
  CHECK(is_ok(bob.request("auth bob pw")));
  CHECK(alice.request("register alice pw Alice_A Wonderland") ==
        R"({"status":"ERROR","message":"User sudah ada"})");
  CHECK(alice.request("addgroup crew") == R"({"status":"ERROR","message":"Group sudah ada"})");
  CHECK(bob.request("joingroup crew") ==
        R"({"status":"ERROR","message":"User sudah dalam group"})");

  // Message numbers in the order the inbox lists them.
  const std::string inbox = bob.request("inbox");
  std::vector<int> listed;
  constexpr std::string_view key = R"("msg":"message-)";
  for (auto at = inbox.find(key); at != std::string::npos; at = inbox.find(key, at + 1)) {
    listed.push_back(std::stoi(inbox.substr(at + key.size(), 8)));
  }
  std::vector<int> expected(static_cast<std::size_t>(acked));
  std::iota(expected.begin(), expected.end(), 0);
  const std::size_t found = listed.size();
  MESSAGE("sent " << burst << ", acknowledged " << acked << ", found after kill -9 " << found);
  CHECK(acked == burst);
  CHECK(listed == expected);
}

TEST_CASE("SIGTERM stops realmd with exit code 0 after sending what was acknowledged") {
  TempDir dir;
  RealmdProcess realmd(dir.path(), RealmdProcess::config_yaml("alpha", dir.path() / "data"));
  realmd.start();
  LineClient carol(realmd.client_port());
  REQUIRE(is_ok(carol.request("register carol pw Carol_C Here")));
  CHECK(realmd.terminate() == 0);
  CHECK(carol.wait_closed());

  realmd.start();
  LineClient again(realmd.client_port());
  CHECK(is_ok(again.request("auth carol pw")));
}

// The course's token-mode clients carry on across a restart: sessions are stored (as hashes
// of their tokens), and logout ends one for good.
TEST_CASE("a token from before kill -9 works after the restart; a logged-out one does not") {
  TempDir dir;
  RealmdProcess realmd(dir.path(), RealmdProcess::config_yaml("alpha", dir.path() / "data"));
  realmd.start();
  std::string kept;
  std::string ended;
  {
    LineClient client(realmd.client_port());
    REQUIRE(is_ok(client.request("register dina pw Dina_D Jakarta")));
    REQUIRE(is_ok(client.request("register eko pw Eko_E Bandung")));
    const std::string reply = client.request("auth dina pw");
    const auto at = reply.find(R"("tokenid":")");
    REQUIRE(at != std::string::npos);
    kept = reply.substr(at + 11, 36);
    LineClient second(realmd.client_port());  // an auth on `client` would end dina's session
    const std::string other = second.request("auth eko pw");
    ended = other.substr(other.find(R"("tokenid":")") + 11, 36);
    REQUIRE(is_ok(client.request("logout " + ended)));
    realmd.kill9();
  }

  realmd.start();
  LineClient course(realmd.client_port());
  CHECK(course.request("send " + kept + " eko after the restart") ==
        R"({"status":"OK","message":"Message sent"})");
  CHECK(course.request("inbox " + ended) ==
        R"({"status":"ERROR","message":"Session tidak ditemukan"})");
  // The store holds no token, only its hash.
  const std::string db = (dir.path() / "data" / "realm.db").string();
  std::ifstream file(db, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  CHECK(bytes.find(kept) == std::string::npos);
}

TEST_CASE("a second realmd on the same data_dir is refused; a crash leaves no lock behind") {
  TempDir dir;
  const auto data = dir.path() / "data";
  std::filesystem::create_directories(dir.path() / "first");
  std::filesystem::create_directories(dir.path() / "second");
  RealmdProcess first(dir.path() / "first", RealmdProcess::config_yaml("alpha", data));
  first.start();
  // Its own config and ports, the same store.
  RealmdProcess second(dir.path() / "second", RealmdProcess::config_yaml("alpha", data));
  CHECK_THROWS(second.start());
  CHECK(second.log().find(data.string() + " is in use by another realmd (pid " +
                          std::to_string(first.pid()) + ")") != std::string::npos);
  {
    LineClient client(first.client_port());
    CHECK(is_ok(client.request("register alice pw Alice_A Wonderland")));
  }
  first.kill9();
  second.start();
  LineClient client(second.client_port());
  CHECK(is_ok(client.request("auth alice pw")));
}
