// Real realmd processes attacked on their realm-link port with frames written by hand
// (docs/reliability.md, "security"): the relay that broke handshake version 1, and frames
// from an authenticated peer that are not well formed. Each must fail on the attacker's link
// alone; the realm keeps serving its clients and its real peers.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>

#include "federation/frames.hpp"
#include "support/delivery_checks.hpp"
#include "support/free_port.hpp"
#include "support/hand_made_peer.hpp"
#include "support/line_client.hpp"
#include "support/poll.hpp"
#include "support/realmd_process.hpp"
#include "support/temp_dir.hpp"

using test_support::eventually;
using test_support::HandMadePeer;
using test_support::LineClient;
using test_support::linked;
using test_support::login;
using test_support::RealmdProcess;
using namespace std::chrono_literals;
namespace federation = chat::federation;
namespace frames = chat::frames;

namespace {

const std::string users =
    "users: [{username: messi, password: pw, nama: Lionel_Messi, negara: Argentina}]\n";

std::string forged_msg(const std::string& id) {
  return R"({"t":"msg","id":)" + id +
         R"(,"epoch":1,"kind":"private","from":"xavi","to":"messi","text":"forged","time":"t"})";
}

frames::Hello decoded_hello(const std::string& line) {
  const federation::DecodeResult result = federation::decode(line);
  REQUIRE_MESSAGE(result.ok(), line);
  REQUIRE(std::holds_alternative<frames::Hello>(*result.frame));
  return std::get<frames::Hello>(*result.frame);
}

}  // namespace

TEST_CASE("the version-1 relay: no realm signs for a party it has not verified") {
  // alpha and beta know each other but do not link on their own (autoconnect: false), so
  // any link between them could only be the attacker's doing.
  test_support::TempDir dir;
  const std::uint16_t alpha_port = test_support::free_port();
  const std::uint16_t beta_port = test_support::free_port();
  const auto peer = [](const std::string& name, std::uint16_t port) {
    return "peers: [{name: " + name + ", address: 127.0.0.1:" + std::to_string(port) +
           ", autoconnect: false}]\n";
  };
  std::filesystem::create_directories(dir.path() / "a");
  std::filesystem::create_directories(dir.path() / "b");
  RealmdProcess alpha(dir.path() / "a",
                      RealmdProcess::config_yaml("alpha", dir.path() / "a" / "data",
                                                 users + peer("beta", beta_port), alpha_port));
  RealmdProcess beta(dir.path() / "b",
                     RealmdProcess::config_yaml("beta", dir.path() / "b" / "data",
                                                peer("alpha", alpha_port), beta_port));
  alpha.start();
  beta.start();

  // 1. Open a link to alpha claiming to be beta, and read alpha's nonce.
  LineClient to_alpha(alpha.peer_port());
  to_alpha.send(HandMadePeer{.name = "beta", .secret = "guessed"}.hello(std::string(64, 'e')));
  const frames::Hello alpha_hello = decoded_hello(to_alpha.expect_line());
  CHECK(alpha_hello.v == 2);

  // 2. Show alpha's nonce to beta, claiming to be alpha, hoping beta signs over it.
  LineClient to_beta(beta.peer_port());
  to_beta.send(HandMadePeer{.name = "alpha", .secret = "guessed"}.hello(alpha_hello.nonce));
  CHECK(decoded_hello(to_beta.expect_line()).realm == "beta");
  // beta waits for the dialer's proof first; a wrong one ends the link, and beta never sent a
  // mac of its own (version 1 sent one right after the hello: the proof to relay to alpha).
  to_beta.send(federation::encode(frames::Auth{.mac = std::string(64, '0')}));
  CHECK(to_beta.wait_closed());
  CHECK(to_beta.unread().find(R"("t":"auth")") == std::string::npos);

  // 3. With nothing to relay, alpha gets no proof either, and nothing is stored.
  to_alpha.send(federation::encode(frames::Auth{.mac = std::string(64, '0')}));
  to_alpha.send(forged_msg("1"));
  CHECK(to_alpha.wait_closed());
  CHECK(to_alpha.unread().find(R"("t":"auth")") == std::string::npos);
  CHECK(to_alpha.unread().find(R"("t":"ack")") == std::string::npos);

  auto messi = login(alpha, "messi");
  CHECK_FALSE(linked(*messi, "beta"));
  CHECK(messi->request("getrealminbox beta", 30s).find("forged") == std::string::npos);
  // The refusal is in alpha's log with the attacker's address, and no secret.
  CHECK(eventually(
      [&] { return alpha.log().find("wrong mac from realm beta") != std::string::npos; }));
  CHECK(alpha.log().find("127.0.0.1:") != std::string::npos);
  CHECK(alpha.log().find("test-secret") == std::string::npos);
}

TEST_CASE(
    "an out-of-range or zero id from a linked peer closes that link only (regression: the "
    "realm answered every client 'Gagal menyimpan' until restarted)") {
  test_support::TempDir dir;
  RealmdProcess alpha(dir.path(), RealmdProcess::config_yaml("alpha", dir.path() / "data", users));
  alpha.start();
  const HandMadePeer zeta{.name = "zeta", .secret = "test-secret"};

  for (const std::string bad_id : {"9223372036854775808", "0", "9007199254740992"}) {
    CAPTURE(bad_id);
    LineClient link(alpha.peer_port());
    zeta.dial(link, "alpha");
    link.send(forged_msg(bad_id));
    CHECK(link.wait_closed());  // a protocol error: no ack, the link is closed
    CHECK(link.unread().find(R"("t":"ack")") == std::string::npos);
    CHECK(eventually(
        [&] { return alpha.log().find(R"(field "id" is not an id)") != std::string::npos; }));
  }

  // The realm serves its clients as before ...
  auto messi = login(alpha, "messi");
  CHECK(messi->request("info messi").starts_with(R"({"status":"OK")"));
  CHECK(messi->request("addgroup still_working") ==
        R"({"status":"OK","message":"Add group successful"})");
  // ... and the same peer, well-formed, is taken exactly once.
  LineClient link(alpha.peer_port());
  zeta.dial(link, "alpha");
  link.send(forged_msg("1"));
  CHECK(test_support::expect_frame(link) == R"({"t":"ack","id":1,"ok":true})");
  link.send(forged_msg("1"));  // a retransmission
  CHECK(test_support::expect_frame(link) == R"({"t":"ack","id":1,"ok":true})");
  messi->send("getrealminbox zeta");
  const std::string fetch = test_support::expect_frame(link);
  REQUIRE(fetch.starts_with(R"({"t":"fetch","rid":)"));
  link.send(R"({"t":"fetched","rid":)" + fetch.substr(19, fetch.find(',') - 19) + "}");
  const std::string inbox = messi->expect_reply();
  CHECK(inbox.find(R"("msg":"forged")") != std::string::npos);
  CHECK(inbox.find(R"("msg":"forged")") == inbox.rfind(R"("msg":"forged")"));  // once
}
