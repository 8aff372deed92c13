#include "federation/handshake.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

using namespace chat::federation;
using State = Handshake::State;

namespace {

const std::string secret = "cluster-secret";

NonceSource fixed_nonce(char digit) {
  return [digit] { return std::string(64, digit); };
}

Handshake::PeerFilter known(std::vector<std::string> names) {
  return [names](std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
}

Frame decoded(const std::string& line) {
  const DecodeResult result = decode(line);
  REQUIRE_MESSAGE(result.ok(), result.error);
  return *result.frame;
}

// Plays a connection: starts both sides and delivers what each sends to the other until both
// fall silent. Returns the last steps of a and b.
std::pair<Handshake::Step, Handshake::Step> run(Handshake& a, Handshake& b) {
  std::vector<std::string> to_a = {b.start()};
  std::vector<std::string> to_b = {a.start()};
  Handshake::Step last_a, last_b;
  while (!to_a.empty() || !to_b.empty()) {
    std::vector<std::string> next_to_a, next_to_b;
    for (const auto& line : to_a) {
      last_a = a.on_frame(decoded(line));
      next_to_b.insert(next_to_b.end(), last_a.send.begin(), last_a.send.end());
    }
    for (const auto& line : to_b) {
      last_b = b.on_frame(decoded(line));
      next_to_a.insert(next_to_a.end(), last_b.send.begin(), last_b.send.end());
    }
    to_a = std::move(next_to_a);
    to_b = std::move(next_to_b);
  }
  return {last_a, last_b};
}

}  // namespace

TEST_CASE("link_mac is HMAC-SHA256 over nonce|sender|receiver with the raw secret") {
  // Reference values from `printf 'NONCE|alpha|beta' | openssl dgst -sha256 -hmac s3cret`.
  const std::string nonce(64, 'a');
  CHECK(link_mac("s3cret", nonce, "alpha", "beta") ==
        "661e1faf8caeebe65cd914f78e9a2639a9717049fdda648de010f663fddb76dd");
  CHECK(link_mac("s3cret", nonce, "beta", "alpha") ==
        "65a087769fa3f21f058e37d0185aa3268e3c5d6209f31269cc839e3a666c30f1");
  // A key longer than SHA-256's 64-byte block is hashed first, as HMAC specifies.
  CHECK(link_mac("a-secret-longer-than-the-sha256-block-size-of-sixty-four-bytes-xx", "n", "x",
                 "y") == "2120392f668a98ac23601d102e89b28da599be630847d3cb78bba87f2aacea00");
}

TEST_CASE("random_nonce gives 64 lowercase hex characters, fresh each time") {
  const std::string first = random_nonce();
  CHECK(first.size() == 64);
  CHECK(first.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(random_nonce() != first);
}

TEST_CASE("a dialer and an acceptor authenticate each other") {
  Handshake alpha = Handshake::dialing("alpha", secret, "beta");
  Handshake beta = Handshake::accepting("beta", secret, known({"alpha", "gamma"}));
  const Hello hello = std::get<Hello>(decoded(alpha.start()));
  CHECK(hello.v == 1);
  CHECK(hello.realm == "alpha");
  CHECK(hello.nonce.size() == 64);
  const auto [a, b] = run(alpha, beta);
  CHECK(a.state == State::authenticated);
  CHECK(b.state == State::authenticated);
  CHECK(a.peer == "beta");
  CHECK(b.peer == "alpha");
  CHECK(a.failure.empty());
  CHECK(alpha.state() == State::authenticated);
  CHECK(beta.peer() == "alpha");
}

TEST_CASE("the frames of a handshake, step by step") {
  Handshake alpha = Handshake::dialing("alpha", secret, "beta", fixed_nonce('1'));
  CHECK(alpha.start() ==
        R"({"t":"hello","v":1,"realm":"alpha","nonce":")" + std::string(64, '1') + R"("})");
  const std::string beta_nonce(64, '2');

  const Handshake::Step after_hello =
      alpha.on_frame(Hello{.v = 1, .realm = "beta", .nonce = beta_nonce});
  CHECK(after_hello.state == State::waiting);
  CHECK(after_hello.peer == "beta");
  REQUIRE(after_hello.send.size() == 1);
  CHECK(after_hello.send[0] ==
        R"({"t":"auth","mac":")" + link_mac(secret, beta_nonce, "alpha", "beta") + R"("})");
  CHECK(after_hello.send[0].find(secret) == std::string::npos);

  const Handshake::Step after_auth =
      alpha.on_frame(Auth{.mac = link_mac(secret, std::string(64, '1'), "beta", "alpha")});
  CHECK(after_auth.state == State::authenticated);
  CHECK(after_auth.send.empty());
  // Finished: later frames change nothing.
  CHECK(alpha.on_frame(Ping{}).state == State::authenticated);
}

TEST_CASE("a wrong secret on one side fails both") {
  Handshake alpha = Handshake::dialing("alpha", secret, "beta");
  Handshake beta = Handshake::accepting("beta", "not-the-secret", known({"alpha"}));
  const auto [a, b] = run(alpha, beta);
  CHECK(a.state == State::failed);
  CHECK(b.state == State::failed);
  CHECK(a.failure == "wrong mac from realm beta");
  CHECK(b.failure == "wrong mac from realm alpha");
  CHECK(a.failure.find(secret) == std::string::npos);
}

TEST_CASE("an auth recorded in one session fails in another") {
  Handshake alpha1 = Handshake::dialing("alpha", secret, "beta");
  Handshake beta1 = Handshake::accepting("beta", secret, known({"alpha"}), fixed_nonce('b'));
  const std::string beta_hello = beta1.start();
  alpha1.on_frame(decoded(beta_hello));
  const Handshake::Step beta_auth = beta1.on_frame(decoded(alpha1.start()));
  REQUIRE(beta_auth.send.size() == 1);
  REQUIRE(alpha1.on_frame(decoded(beta_auth.send[0])).state == State::authenticated);

  // Replayed verbatim, even with the same hello nonce: alpha's new nonce changes the mac.
  Handshake alpha2 = Handshake::dialing("alpha", secret, "beta");
  CHECK(alpha2.on_frame(decoded(beta_hello)).state == State::waiting);
  const Handshake::Step replayed = alpha2.on_frame(decoded(beta_auth.send[0]));
  CHECK(replayed.state == State::failed);
  CHECK(replayed.failure == "wrong mac from realm beta");
}

TEST_CASE("a mac reflected back to its sender fails") {
  Handshake alpha = Handshake::dialing("alpha", secret, "beta", fixed_nonce('1'));
  // A mallory echoing alpha's nonce gets alpha's own mac, which is not beta's.
  const Handshake::Step step =
      alpha.on_frame(Hello{.v = 1, .realm = "beta", .nonce = std::string(64, '1')});
  REQUIRE(step.send.size() == 1);
  CHECK(alpha.on_frame(decoded(step.send[0])).failure == "wrong mac from realm beta");
}

TEST_CASE("impostors fail") {
  SUBCASE("the dialed realm answers with another name") {
    Handshake alpha = Handshake::dialing("alpha", secret, "beta");
    Handshake gamma = Handshake::accepting("gamma", secret, known({"alpha"}));
    const auto [a, b] = run(alpha, gamma);
    CHECK(a.state == State::failed);
    CHECK(a.failure == "hello from realm gamma, but we dialed beta");
    CHECK(a.peer.empty());
  }
  SUBCASE("an unknown realm dials in") {
    Handshake mallory = Handshake::dialing("mallory", secret, "beta");
    Handshake beta = Handshake::accepting("beta", secret, known({"alpha"}));
    const auto [m, b] = run(mallory, beta);
    CHECK(b.state == State::failed);
    CHECK(b.failure == "hello from unknown realm mallory");
  }
  SUBCASE("an outsider without the secret claims a known name") {
    Handshake fake_alpha = Handshake::dialing("alpha", "guessed", "beta");
    Handshake beta = Handshake::accepting("beta", secret, known({"alpha"}));
    const auto [f, b] = run(fake_alpha, beta);
    CHECK(b.state == State::failed);
    CHECK(b.failure == "wrong mac from realm alpha");
  }
}

TEST_CASE("protocol violations fail with a reason") {
  Handshake beta = Handshake::accepting("beta", secret, known({"alpha", "beta"}));
  const std::string nonce(64, '3');
  SUBCASE("hello with our own name") {
    const auto step = beta.on_frame(Hello{.v = 1, .realm = "beta", .nonce = nonce});
    CHECK(step.state == State::failed);
    CHECK(step.failure == "hello with our own realm name beta");
    CHECK(step.send.empty());
  }
  SUBCASE("hello with another version") {
    CHECK(beta.on_frame(Hello{.v = 2, .realm = "alpha", .nonce = nonce}).failure ==
          "hello with unsupported version 2 (we speak 1)");
  }
  SUBCASE("auth before hello") {
    CHECK(beta.on_frame(Auth{.mac = std::string(64, '0')}).failure == "auth before hello");
  }
  SUBCASE("second hello") {
    beta.on_frame(Hello{.v = 1, .realm = "alpha", .nonce = nonce});
    CHECK(beta.on_frame(Hello{.v = 1, .realm = "alpha", .nonce = nonce}).failure ==
          "second hello from realm alpha");
  }
  SUBCASE("a link frame during the handshake") {
    beta.on_frame(Hello{.v = 1, .realm = "alpha", .nonce = nonce});
    CHECK(beta.on_frame(Fetch{.rid = 1, .user = "messi"}).failure ==
          "unexpected fetch frame during the handshake");
  }
  SUBCASE("a missing mac never reaches the handshake") {
    CHECK(decode(R"({"t":"auth"})").error == R"(missing field "mac" in auth frame)");
  }
}

TEST_CASE("a failed handshake stays failed") {
  Handshake beta = Handshake::accepting("beta", secret, known({"alpha"}));
  REQUIRE(beta.on_frame(Auth{.mac = std::string(64, '0')}).state == State::failed);
  const auto step = beta.on_frame(Hello{.v = 1, .realm = "alpha", .nonce = std::string(64, '3')});
  CHECK(step.state == State::failed);
  CHECK(step.failure == "auth before hello");
  CHECK(step.send.empty());
}
