#include "federation/handshake.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

using namespace chat::federation;
using namespace chat::frames;
using State = Handshake::State;

namespace {

const std::string secret = "cluster-secret";

Handshake::Own own(std::string name, std::uint64_t epoch = 11) {
  return {.name = std::move(name), .epoch = epoch, .max_text = 16384};
}

Hello hello_from(std::string realm, std::string nonce, std::uint32_t v = 2) {
  return Hello{
      .v = v, .realm = std::move(realm), .nonce = std::move(nonce), .epoch = 5, .max_text = 16384};
}

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

TEST_CASE("link_mac is HMAC-SHA256 over the whole transcript, the signer's role first") {
  // Reference values from
  // `printf 'realmchat-link-v2|dialer|alpha|beta|A..|B..|5|9' | openssl dgst -sha256 -hmac s3cret`.
  const LinkTranscript t{.dialer = "alpha",
                         .acceptor = "beta",
                         .dialer_nonce = std::string(64, 'a'),
                         .acceptor_nonce = std::string(64, 'b'),
                         .dialer_epoch = 5,
                         .acceptor_epoch = 9};
  CHECK(link_mac("s3cret", LinkRole::dialer, t) ==
        "623ae84782a3f873bda26db2a684985615491caed9b3951e371aec0154a6a7ca");
  CHECK(link_mac("s3cret", LinkRole::acceptor, t) ==
        "918097d03168ad477871b0674e4399e46e2e9d63450d6a4bd9d790c4c4366b41");
  // Every part counts: another epoch, nonce or name gives another mac.
  LinkTranscript other = t;
  other.acceptor_epoch = 10;
  CHECK(link_mac("s3cret", LinkRole::dialer, other) != link_mac("s3cret", LinkRole::dialer, t));
  other = t;
  other.acceptor = "gamma";
  CHECK(link_mac("s3cret", LinkRole::dialer, other) != link_mac("s3cret", LinkRole::dialer, t));
}

TEST_CASE("random_nonce gives 64 lowercase hex characters, fresh each time") {
  const std::string first = random_nonce();
  CHECK(first.size() == 64);
  CHECK(first.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(random_nonce() != first);
}

TEST_CASE("a dialer and an acceptor authenticate each other") {
  Handshake alpha = Handshake::dialing(own("alpha", 21), secret, "beta");
  Handshake beta = Handshake::accepting(own("beta", 22), secret, known({"alpha", "gamma"}));
  const Hello hello = std::get<Hello>(decoded(alpha.start()));
  CHECK(hello.v == 2);
  CHECK(hello.realm == "alpha");
  CHECK(hello.nonce.size() == 64);
  CHECK(hello.epoch == 21);
  CHECK(hello.max_text == 16384);
  const auto [a, b] = run(alpha, beta);
  CHECK(a.state == State::authenticated);
  CHECK(b.state == State::authenticated);
  CHECK(a.peer == "beta");
  CHECK(b.peer == "alpha");
  CHECK(a.peer_epoch == 22);
  CHECK(b.peer_epoch == 21);
  CHECK(a.peer_max_text == 16384);
  CHECK(a.failure.empty());
  CHECK(alpha.state() == State::authenticated);
  CHECK(beta.peer() == "alpha");
}

TEST_CASE("the frames of a handshake, step by step: the dialer proves first") {
  const std::string alpha_nonce(64, '1');
  const std::string beta_nonce(64, '2');
  Handshake alpha = Handshake::dialing(own("alpha", 3), secret, "beta", fixed_nonce('1'));
  Handshake beta = Handshake::accepting(own("beta", 4), secret, known({"alpha"}), fixed_nonce('2'));
  CHECK(alpha.start() == R"({"t":"hello","v":2,"realm":"alpha","nonce":")" + alpha_nonce +
                             R"(","epoch":3,"max_text":16384})");
  const LinkTranscript t{.dialer = "alpha",
                         .acceptor = "beta",
                         .dialer_nonce = alpha_nonce,
                         .acceptor_nonce = beta_nonce,
                         .dialer_epoch = 3,
                         .acceptor_epoch = 4};

  // The acceptor reads the dialer's hello and signs nothing yet.
  const Handshake::Step beta_hello = beta.on_frame(decoded(alpha.start()));
  CHECK(beta_hello.state == State::waiting);
  CHECK(beta_hello.send.empty());

  // The dialer reads the acceptor's hello and proves itself.
  const Handshake::Step alpha_auth = alpha.on_frame(decoded(beta.start()));
  CHECK(alpha_auth.state == State::waiting);
  REQUIRE(alpha_auth.send.size() == 1);
  CHECK(alpha_auth.send[0] ==
        R"({"t":"auth","mac":")" + link_mac(secret, LinkRole::dialer, t) + R"("})");
  CHECK(alpha_auth.send[0].find(secret) == std::string::npos);

  // Only now does the acceptor sign, and it is authenticated.
  const Handshake::Step beta_auth = beta.on_frame(decoded(alpha_auth.send[0]));
  CHECK(beta_auth.state == State::authenticated);
  REQUIRE(beta_auth.send.size() == 1);
  CHECK(beta_auth.send[0] ==
        R"({"t":"auth","mac":")" + link_mac(secret, LinkRole::acceptor, t) + R"("})");

  CHECK(alpha.on_frame(decoded(beta_auth.send[0])).state == State::authenticated);
  // Finished: later frames change nothing.
  CHECK(alpha.on_frame(Ping{}).state == State::authenticated);
}

TEST_CASE("a wrong secret fails the acceptor before it signed anything") {
  Handshake alpha = Handshake::dialing(own("alpha"), "not-the-secret", "beta");
  Handshake beta = Handshake::accepting(own("beta"), secret, known({"alpha"}));
  const auto [a, b] = run(alpha, beta);
  CHECK(b.state == State::failed);
  CHECK(b.failure == "wrong mac from realm alpha");
  CHECK(b.send.empty());
  CHECK(a.state == State::waiting);  // never hears a mac: its link times out or is closed
  CHECK(b.failure.find(secret) == std::string::npos);
}

TEST_CASE("the relay of version 1 fails: no realm signs for a party it has not verified") {
  // Mallory has no secret. She opens a link to alpha (acceptor) and reads its nonce Na, then
  // dials beta claiming to be alpha with nonce Na, hoping beta signs over Na for her to replay
  // to alpha as beta's proof.
  Handshake alpha = Handshake::accepting(own("alpha"), secret, known({"beta"}));
  const Hello alpha_hello = std::get<Hello>(decoded(alpha.start()));
  Handshake beta = Handshake::accepting(own("beta"), secret, known({"alpha"}));
  const Handshake::Step beta_step =
      beta.on_frame(hello_from("alpha", alpha_hello.nonce));  // mallory posing as alpha
  CHECK(beta_step.send.empty());  // beta waits for a proof it will never get: nothing to relay
  // Presenting herself to alpha as the dialer "beta" she must prove first, and cannot.
  alpha.on_frame(hello_from("beta", std::string(64, 'e')));
  const Handshake::Step alpha_step = alpha.on_frame(Auth{.mac = std::string(64, '0')});
  CHECK(alpha_step.state == State::failed);
  CHECK(alpha_step.send.empty());
}

TEST_CASE("a dialer's mac is only good for its own connection and role") {
  Handshake alpha = Handshake::dialing(own("alpha"), secret, "beta", fixed_nonce('1'));
  Handshake beta1 = Handshake::accepting(own("beta"), secret, known({"alpha"}), fixed_nonce('b'));
  beta1.on_frame(decoded(alpha.start()));
  const Handshake::Step auth = alpha.on_frame(decoded(beta1.start()));
  REQUIRE(auth.send.size() == 1);

  SUBCASE("replayed to another connection (another acceptor nonce)") {
    Handshake beta2 = Handshake::accepting(own("beta"), secret, known({"alpha"}), fixed_nonce('c'));
    beta2.on_frame(decoded(alpha.start()));
    const Handshake::Step replayed = beta2.on_frame(decoded(auth.send[0]));
    CHECK(replayed.state == State::failed);
    CHECK(replayed.failure == "wrong mac from realm alpha");
  }
  SUBCASE("reflected back to its sender as the acceptor's proof") {
    CHECK(alpha.on_frame(decoded(auth.send[0])).failure == "wrong mac from realm beta");
  }
}

TEST_CASE("impostors fail") {
  SUBCASE("the dialed realm answers with another name") {
    Handshake alpha = Handshake::dialing(own("alpha"), secret, "beta");
    Handshake gamma = Handshake::accepting(own("gamma"), secret, known({"alpha"}));
    const auto [a, b] = run(alpha, gamma);
    CHECK(a.state == State::failed);
    CHECK(a.failure == "hello from realm gamma, but we dialed beta");
    CHECK(a.peer.empty());
  }
  SUBCASE("an unknown realm dials in") {
    Handshake mallory = Handshake::dialing(own("mallory"), secret, "beta");
    Handshake beta = Handshake::accepting(own("beta"), secret, known({"alpha"}));
    const auto [m, b] = run(mallory, beta);
    CHECK(b.state == State::failed);
    CHECK(b.failure == "hello from unknown realm mallory");
  }
  SUBCASE("an outsider without the secret claims a known name") {
    Handshake fake_alpha = Handshake::dialing(own("alpha"), "guessed", "beta");
    Handshake beta = Handshake::accepting(own("beta"), secret, known({"alpha"}));
    const auto [f, b] = run(fake_alpha, beta);
    CHECK(b.state == State::failed);
    CHECK(b.failure == "wrong mac from realm alpha");
  }
}

TEST_CASE("protocol violations fail with a reason") {
  Handshake beta = Handshake::accepting(own("beta"), secret, known({"alpha", "beta"}));
  const std::string nonce(64, '3');
  SUBCASE("hello with our own name") {
    const auto step = beta.on_frame(hello_from("beta", nonce));
    CHECK(step.state == State::failed);
    CHECK(step.failure == "hello with our own realm name beta");
    CHECK(step.send.empty());
  }
  SUBCASE("hello of version 1 is refused") {
    CHECK(beta.on_frame(hello_from("alpha", nonce, 1)).failure ==
          "hello with unsupported version 1 (we speak 2)");
    // A v1 hello as a v1 realm sends it (no epoch, no max_text) still decodes, to say why.
    const Frame v1 = decoded(R"({"t":"hello","v":1,"realm":"alpha","nonce":")" + nonce + R"("})");
    Handshake fresh = Handshake::accepting(own("beta"), secret, known({"alpha"}));
    CHECK(fresh.on_frame(v1).failure == "hello with unsupported version 1 (we speak 2)");
  }
  SUBCASE("hello without max_text") {
    Hello hello = hello_from("alpha", nonce);
    hello.max_text = 0;
    CHECK(beta.on_frame(hello).failure == "hello without max_text");
  }
  SUBCASE("auth before hello") {
    CHECK(beta.on_frame(Auth{.mac = std::string(64, '0')}).failure == "auth before hello");
  }
  SUBCASE("second hello") {
    beta.on_frame(hello_from("alpha", nonce));
    CHECK(beta.on_frame(hello_from("alpha", nonce)).failure == "second hello from realm alpha");
  }
  SUBCASE("a link frame during the handshake") {
    beta.on_frame(hello_from("alpha", nonce));
    CHECK(beta.on_frame(Fetch{.rid = 1, .user = "messi"}).failure ==
          "unexpected fetch frame during the handshake");
  }
  SUBCASE("a missing mac never reaches the handshake") {
    CHECK(decode(R"({"t":"auth"})").error == R"(missing field "mac" in auth frame)");
  }
}

TEST_CASE("a failed handshake stays failed") {
  Handshake beta = Handshake::accepting(own("beta"), secret, known({"alpha"}));
  REQUIRE(beta.on_frame(Auth{.mac = std::string(64, '0')}).state == State::failed);
  const auto step = beta.on_frame(hello_from("alpha", std::string(64, '3')));
  CHECK(step.state == State::failed);
  CHECK(step.failure == "auth before hello");
  CHECK(step.send.empty());
}
