// realmd over TLS, in process (RealmServers on their own threads, a throwaway CA made with the
// openssl command): clients over TLS get their exact replies while plain-TCP clients and clients
// trusting another CA get none; realm links over TLS carry messages, and impostors never link
// (a certificate from another CA, one naming another realm, a realm without TLS, a realm showing
// a certificate for another name); a missing certificate file stops the start.
#include <doctest/doctest.h>
#include <openssl/x509_vfy.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/ssl.hpp>
#include <asio/write.hpp>
#include <memory>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "realm_server.hpp"
#include "store/memory_store.hpp"
#include "support/free_port.hpp"
#include "support/line_client.hpp"
#include "support/poll.hpp"
#include "support/realm_user.hpp"
#include "support/running_realm.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"

using test_support::eventually;
using test_support::LineClient;
using test_support::RunningRealm;
using test_support::TempDir;
using test_support::TestCa;
using namespace std::chrono_literals;

namespace {

using tcp = asio::ip::tcp;

const std::string secret = "inproc-tls-secret";

std::string ok(std::string_view message) {
  return R"({"status":"OK","message":")" + std::string(message) + R"("})";
}
const std::string queued = R"({"status":"OK","message":"Message queued for realm","queued":true})";

const std::regex token_pattern(R"("tokenid":"[0-9a-f-]{36}")");
const std::regex time_pattern(R"("time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")");
std::string masked(const std::string& reply) {
  return std::regex_replace(std::regex_replace(reply, token_pattern, R"("tokenid":"T")"),
                            time_pattern, R"("time":"TIME")");
}

// A client of the line protocol over TLS on 127.0.0.1, as the tests' own asio::ssl code: it
// trusts only `ca` and checks that the server's certificate names 127.0.0.1. Every wait has a
// deadline; a missed one throws.
class TlsLineClient {
 public:
  static constexpr std::chrono::milliseconds timeout{10000};

  TlsLineClient(std::uint16_t port, const std::filesystem::path& ca) {
    context_.load_verify_file(ca.string());
    stream_.set_verify_mode(asio::ssl::verify_peer);
    stream_.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
    stream_.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  }

  // The TLS handshake; why it failed, or nothing.
  std::error_code handshake() {
    return run("the TLS handshake", [this](auto done) {
      stream_.async_handshake(asio::ssl::stream_base::client, done);
    });
  }
  // Why the server's certificate failed verification (X509_V_OK if it did not).
  long verify_result() { return SSL_get_verify_result(stream_.native_handle()); }

  // Sends `line` + "\n" (if the connection takes it) and returns what arrives until the server
  // closes the connection.
  std::string send_until_closed(const std::string& line) {
    const std::string bytes = line + "\n";
    run("writing " + line,
        [&](auto done) { asio::async_write(stream_, asio::buffer(bytes), done); });
    // Ends only with the connection: no "\0" comes in the protocol.
    run("the close", [&](auto done) {
      asio::async_read_until(stream_, asio::dynamic_buffer(buffer_), '\0', done);
    });
    return std::exchange(buffer_, {});
  }

  // Sends `line` + "\n" and returns the reply, without its "\r\n\r\n".
  std::string request(const std::string& line) {
    const std::string bytes = line + "\n";
    if (const std::error_code ec = run("writing " + line, [&](auto done) {
          asio::async_write(stream_, asio::buffer(bytes), done);
        })) {
      throw std::system_error(ec, "writing " + line);
    }
    if (const std::error_code ec = run("the reply to " + line, [&](auto done) {
          asio::async_read_until(stream_, asio::dynamic_buffer(buffer_), "\r\n\r\n", done);
        })) {
      throw std::system_error(ec, "reading the reply to " + line);
    }
    const std::size_t end = buffer_.find("\r\n\r\n");
    std::string reply = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    return reply;
  }

 private:
  // Starts one operation with a completion handler and runs the loop until it completes.
  template <typename Start>
  std::error_code run(const std::string& what, Start start) {
    std::optional<std::error_code> result;
    start([&result](std::error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run_for(timeout);
    if (result) return *result;
    std::error_code ignored;
    stream_.next_layer().close(ignored);  // ends the operation; its handler runs now
    io_.restart();
    io_.run();
    throw std::runtime_error("no end to " + what + " within " + std::to_string(timeout.count()) +
                             " ms");
  }

  asio::io_context io_;
  asio::ssl::context context_{asio::ssl::context::tls_client};
  asio::ssl::stream<tcp::socket> stream_{io_, context_};
  std::string buffer_;
};

// realmd's log while it exists (a sink on the default logger), to check why it closed a link.
// Made before the realms it watches start and destroyed after they stop.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4096)) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    std::erase(sinks, sink_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Whether a line logged so far matches `pattern` (somewhere in it).
  bool has(const std::string& pattern) const { return count(pattern) > 0; }
  // How many lines logged so far match `pattern`.
  std::size_t count(const std::string& pattern) const {
    const std::regex wanted(pattern);
    std::size_t matches = 0;
    for (const std::string& line : sink_->last_formatted()) {
      if (std::regex_search(line, wanted)) ++matches;
    }
    return matches;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

chat::config::TlsConfig tls_config(const TestCa::Leaf& leaf, const std::filesystem::path& ca,
                                   bool clients, bool peers) {
  return {.certificate = leaf.certificate,
          .key = leaf.key,
          .ca = ca,
          .clients = clients,
          .peers = peers};
}

// A realm on 127.0.0.1 (clients on any port, links on a port free now so that peers can name
// it) with the given users.
chat::config::RealmConfig realm_config(const std::string& name,
                                       std::vector<chat::config::SeedUser> users) {
  chat::config::RealmConfig config;
  config.name = name;
  config.listen = {"127.0.0.1", 0};
  config.peer_listen = {"127.0.0.1", test_support::free_port()};
  config.secret = secret;
  config.keepalive = 250ms;
  config.password_cost = chat::config::PasswordCost::min;
  config.users = std::move(users);
  return config;
}

std::unique_ptr<RunningRealm> run_realm(const chat::config::RealmConfig& config) {
  return std::make_unique<RunningRealm>(config, std::make_unique<chat::store::MemoryStore>());
}

chat::config::PeerConfig peer(const chat::config::RealmConfig& other) {
  return {.name = other.name, .address = other.peer_listen, .autoconnect = true};
}

std::string address(const chat::config::RealmConfig& config) {
  return "127.0.0.1:" + std::to_string(config.peer_listen.port);
}

using User = test_support::RealmUser;
using test_support::realm_entry;

std::string entry(const std::string& peer, const std::string& state, const std::string& address,
                  const std::string& last_error, int queued = 0) {
  return R"({"name":")" + peer + R"(","state":")" + state + R"(","address":")" + address +
         R"(","queued":)" + std::to_string(queued) + R"(,"last_error":")" + last_error + R"("})";
}

bool linked(User& user, const std::string& peer) {
  return realm_entry(user, peer).find(R"("state":"linked")") != std::string::npos;
}

const chat::config::SeedUser messi{"messi", "surabaya", "Lionel_Messi", "Argentina"};
const chat::config::SeedUser jokowi{"jokowi", "123", "joko_widodo", "indonesia"};

// What OpenSSL says of a certificate that fails verification, as asio words it.
const std::string verify_failed = "certificate verify failed (SSL routines)";

}  // namespace

TEST_CASE("TLS clients: exact replies over TLS; plain TCP and a rogue CA get nothing" *
          test_support::TestCa::needed()) {
  TempDir dir;
  const TestCa ca(dir.path());
  const TestCa rogue(dir.path(), "rogue");
  chat::config::RealmConfig config = realm_config("alpha", {messi});
  config.tls = tls_config(ca.issue("alpha", {"alpha", "127.0.0.1"}), ca.ca_certificate(),
                          /*clients=*/true, /*peers=*/false);
  const auto realm = run_realm(config);

  TlsLineClient bob(realm->port(), ca.ca_certificate());
  REQUIRE(bob.handshake() == std::error_code());
  CHECK(masked(bob.request("register bob rahasia Bob_Marley Jamaica")) ==
        R"({"status":"OK","message":"User registered","tokenid":"T"})");
  TlsLineClient messi_client(realm->port(), ca.ca_certificate());
  REQUIRE(messi_client.handshake() == std::error_code());
  CHECK(masked(messi_client.request("auth messi surabaya")) == R"({"status":"OK","tokenid":"T"})");
  CHECK(messi_client.request("send bob halo lewat TLS") == ok("Message sent"));
  CHECK(
      masked(bob.request("inbox")) ==
      R"({"status":"OK","messages":{"messi":[)"
      R"({"id":1,"msg_from":"messi","msg_to":"bob","msg":"halo lewat TLS","realm":"alpha","time":"TIME"}]}})");

  SUBCASE("a plain-TCP client gets no protocol reply and is closed") {
    LineClient plain(realm->port());
    plain.send("auth messi surabaya");
    CHECK(plain.wait_closed());
    CHECK(plain.unread().find(R"({"status")") == std::string::npos);
  }
  SUBCASE("a client trusting only another CA fails the handshake") {
    TlsLineClient doubter(realm->port(), rogue.ca_certificate());
    const std::error_code ec = doubter.handshake();
    CHECK(ec.message() == verify_failed);
    CHECK(doubter.verify_result() == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  }
  // Either way the realm still serves the good clients.
  CHECK(messi_client.request("send bob masih jalan") == ok("Message sent"));
  CHECK(
      masked(bob.request("inbox")) ==
      R"({"status":"OK","messages":{"messi":[)"
      R"({"id":2,"msg_from":"messi","msg_to":"bob","msg":"masih jalan","realm":"alpha","time":"TIME"}]}})");
  TlsLineClient late(realm->port(), ca.ca_certificate());
  REQUIRE(late.handshake() == std::error_code());
  CHECK(masked(late.request("auth bob rahasia")) == R"({"status":"OK","tokenid":"T"})");
}

TEST_CASE("TLS realm links: messages cross; impostors never link" *
          test_support::TestCa::needed()) {
  TempDir dir;
  const TestCa ca(dir.path());
  // alpha dials beta; beta names no peer (it learns alpha from the handshake). Clients speak
  // plain TCP: only the links use TLS.
  chat::config::RealmConfig alpha = realm_config("alpha", {messi});
  chat::config::RealmConfig beta = realm_config("beta", {jokowi});
  alpha.peers = {peer(beta)};
  alpha.tls = tls_config(ca.issue("alpha", {"alpha", "127.0.0.1"}), ca.ca_certificate(),
                         /*clients=*/false, /*peers=*/true);
  LogCapture log;

  SUBCASE("both with certificates of the CA naming their realm: linked, messages delivered") {
    beta.tls =
        tls_config(ca.issue("beta", {"beta", "127.0.0.1"}), ca.ca_certificate(), false, true);
    const auto beta_realm = run_realm(beta);
    const auto alpha_realm = run_realm(alpha);
    User m(alpha_realm->port(), "messi", "surabaya");
    User j(beta_realm->port(), "jokowi", "123");
    REQUIRE(eventually([&] { return linked(m, "beta") && linked(j, "alpha"); }));
    CHECK(m("sendprivaterealm beta jokowi halo lewat TLS") == ok("Message sent to user in realm"));
    CHECK(
        masked(j("getrealminbox alpha")) ==
        R"({"status":"OK","realm":"alpha","messages":{"messi":[)"
        R"({"id":1,"msg_from":"messi","msg_to":"jokowi","msg":"halo lewat TLS","realm":"alpha","time":"TIME"}]},"synced":true})");
    CHECK(j("sendprivaterealm alpha messi terima kasih") == ok("Message sent to user in realm"));
    CHECK(realm_entry(m, "beta") == entry("beta", "linked", address(beta), ""));

    // The peer port speaks only TLS: a plain hello gets no hello back.
    LineClient plain(beta.peer_listen.port);
    plain.send(R"({"t":"hello","v":1,"realm":"alpha","nonce":")" + std::string(64, 'a') + R"("})");
    CHECK(plain.wait_closed());
    CHECK(plain.unread().find(R"("t":"hello")") == std::string::npos);
    CHECK(linked(m, "beta"));
  }

  // alpha dials a beta that shows `certificate`: alpha's TLS handshake refuses it, so sends
  // are queued and beta never even learns of alpha (no link got as far as the hello).
  const auto dial_is_refused = [&](const TestCa::Leaf& certificate) {
    beta.tls = tls_config(certificate, ca.ca_certificate(), false, true);
    const auto beta_realm = run_realm(beta);
    const auto alpha_realm = run_realm(alpha);
    User m(alpha_realm->port(), "messi", "surabaya");
    REQUIRE(eventually([&] {
      return realm_entry(m, "beta") ==
             entry("beta", "connecting", address(beta), "connect: TLS handshake: " + verify_failed);
    }));
    CHECK(m("sendprivaterealm beta jokowi tidak sampai") == queued);
    User j(beta_realm->port(), "jokowi", "123");
    CHECK(realm_entry(j, "alpha").empty());
  };

  SUBCASE("the dialled peer's certificate comes from another CA") {
    const TestCa rogue(dir.path(), "rogue");
    dial_is_refused(rogue.issue("beta", {"beta", "127.0.0.1"}));
  }

  SUBCASE("the dialled peer's certificate is the CA's but names another realm") {
    dial_is_refused(ca.issue("mallory", {"mallory", "127.0.0.1"}));
  }

  SUBCASE("a plain peer dials a TLS peer listener") {
    beta.tls =
        tls_config(ca.issue("beta", {"beta", "127.0.0.1"}), ca.ca_certificate(), false, true);
    alpha.tls.reset();
    const auto beta_realm = run_realm(beta);
    const auto alpha_realm = run_realm(alpha);
    User m(alpha_realm->port(), "messi", "surabaya");
    // beta's TLS side closes at alpha's hello (not a TLS record).
    CHECK(eventually([&] {
      return realm_entry(m, "beta") == entry("beta", "connecting", address(beta), "peer closed");
    }));
    CHECK(m("sendprivaterealm beta jokowi tidak sampai") == queued);
    User j(beta_realm->port(), "jokowi", "123");
    CHECK(realm_entry(j, "alpha").empty());
  }

  SUBCASE("a TLS peer dials a plain peer listener") {
    const auto beta_realm = run_realm(beta);  // no tls: section
    const auto alpha_realm = run_realm(alpha);
    User m(alpha_realm->port(), "messi", "surabaya");
    // beta's hello line is not a TLS record.
    CHECK(eventually([&] {
      return realm_entry(m, "beta") ==
             entry("beta", "connecting", address(beta),
                   "connect: TLS handshake: wrong version number (SSL routines)");
    }));
    CHECK(m("sendprivaterealm beta jokowi tidak sampai") == queued);
    User j(beta_realm->port(), "jokowi", "123");
    CHECK(realm_entry(j, "alpha").empty());
  }

  SUBCASE("a realm whose certificate names another realm dials in: the link is closed") {
    // beta has the secret and a certificate of the CA, but issued for mallory: alpha accepts
    // the TLS handshake (no name is checked there), then beta's hello says beta: alpha closes
    // before answering it, so beta's side never authenticates either.
    beta.tls =
        tls_config(ca.issue("mallory", {"mallory", "127.0.0.1"}), ca.ca_certificate(), false, true);
    beta.peers = {peer(alpha)};
    alpha.peers.clear();
    const auto alpha_realm = run_realm(alpha);
    const auto beta_realm = run_realm(beta);
    const std::string refused = R"(link \d+ from beta \(127\.0\.0\.1:\d+\): handshake failed: )"
                                R"(its TLS certificate does not name realm beta)";
    REQUIRE(eventually([&] { return log.count(refused) >= 2; }));  // beta tried again
    // Never authenticated on beta's side either, so beta's redials follow the backoff (a link
    // that authenticated would reset it: beta would redial at once, over and over).
    CHECK_FALSE(log.has("linked to realm alpha"));
    User m(alpha_realm->port(), "messi", "surabaya");
    CHECK(realm_entry(m, "beta").empty());  // never linked, so never learnt
    User j(beta_realm->port(), "jokowi", "123");
    // beta itself saw alpha's certificate verify: it only sees the close (at its next read or
    // write, whichever comes first; after its proof went out, as a refused handshake that
    // names the certificate among the causes).
    REQUIRE(eventually([&] {
      const std::string seen = realm_entry(j, "alpha");
      return seen == entry("alpha", "connecting", address(alpha), "peer closed") ||
             seen == entry("alpha", "connecting", address(alpha), "read failed") ||
             seen == entry("alpha", "connecting", address(alpha),
                           "handshake failed: closed by realm alpha before it authenticated (is "
                           "federation.secret the same on both, and does our TLS certificate "
                           "name this realm?)");
    }));
  }

  SUBCASE("a realm whose certificate comes from another CA dials in: no link") {
    const TestCa rogue(dir.path(), "rogue");
    beta.tls =
        tls_config(rogue.issue("beta", {"beta", "127.0.0.1"}), ca.ca_certificate(), false, true);
    beta.peers = {peer(alpha)};
    alpha.peers.clear();
    const auto alpha_realm = run_realm(alpha);
    const auto beta_realm = run_realm(beta);
    User j(beta_realm->port(), "jokowi", "123");
    // TLS 1.3: the client's handshake is done before the server checks its certificate, so
    // beta learns of the refusal as its first read fails.
    CHECK(eventually([&] {
      return realm_entry(j, "alpha") == entry("alpha", "connecting", address(alpha), "read failed");
    }));
    // alpha's thread may log it just after beta saw the alert.
    CHECK(eventually([&] {
      return log.has(R"(realm alpha: TLS handshake with 127\.0\.0\.1:\d+ failed: )"
                     R"(certificate verify failed \(SSL routines\))");
    }));
    User m(alpha_realm->port(), "messi", "surabaya");
    CHECK(realm_entry(m, "beta").empty());
  }

  SUBCASE("a TLS client without a certificate on the peer port gets no hello") {
    beta.tls =
        tls_config(ca.issue("beta", {"beta", "127.0.0.1"}), ca.ca_certificate(), false, true);
    const auto beta_realm = run_realm(beta);
    TlsLineClient anonymous(beta.peer_listen.port, ca.ca_certificate());
    CHECK(anonymous.handshake() == std::error_code());  // TLS 1.3: the server checks after
    const std::string received = anonymous.send_until_closed(
        R"({"t":"hello","v":1,"realm":"alpha","nonce":")" + std::string(64, 'a') + R"("})");
    CHECK(received.find(R"("t":"hello")") == std::string::npos);
    CHECK(eventually([&] {
      return log.has(R"(realm beta: TLS handshake with 127\.0\.0\.1:\d+ failed: )"
                     R"(peer did not return a certificate \(SSL routines\))");
    }));
  }
}

TEST_CASE("a missing TLS certificate file stops the start, naming the key and the file" *
          test_support::TestCa::needed()) {
  TempDir dir;
  const TestCa ca(dir.path());
  TestCa::Leaf leaf = ca.issue("alpha", {"alpha", "127.0.0.1"});
  leaf.certificate = dir.path() / "absent.crt";
  chat::config::RealmConfig config = realm_config("alpha", {});
  config.tls = tls_config(leaf, ca.ca_certificate(), true, true);
  asio::io_context io;
  realmd::RealmServer server(io, config, std::make_unique<chat::store::MemoryStore>());
  CHECK_THROWS_WITH_AS(
      server.start(),
      ("tls.certificate: cannot use '" + leaf.certificate.string() + "': No such file or directory")
          .c_str(),
      std::runtime_error);
}
