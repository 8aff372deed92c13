// chat::client::Connection over TLS against a small in-process server with a throwaway CA:
// the server's certificate must chain to the CA given and name the host dialled.
#include <doctest/doctest.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "chatclient/connection.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"

namespace {

using chat::client::Connection;
using chat::client::ConnectionError;
using chat::client::TlsOptions;
using test_support::TempDir;
using test_support::TestCa;
using tcp = asio::ip::tcp;

constexpr const char* ok_reply = "{\"status\":\"OK\"}\r\n\r\n";

// Answers every request line of its clients with ok_reply, on 127.0.0.1:<any port>, over TLS
// with `certificate` when given one. Runs on its own thread until destroyed.
class ReplyServer {
 public:
  explicit ReplyServer(const std::optional<TestCa::Leaf>& certificate = std::nullopt) {
    if (certificate) {
      context_.emplace(asio::ssl::context::tls_server);
      context_->use_certificate_chain_file(certificate->certificate.string());
      context_->use_private_key_file(certificate->key.string(), asio::ssl::context::pem);
    }
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ReplyServer() {
    io_.stop();
    thread_.join();
  }
  ReplyServer(const ReplyServer&) = delete;
  ReplyServer& operator=(const ReplyServer&) = delete;

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  // One client: its stream (a socket, or TLS over one) and the bytes read but not answered.
  template <typename Stream>
  struct Client : std::enable_shared_from_this<Client<Stream>> {
    explicit Client(Stream stream) : stream(std::move(stream)) {}

    void answer_lines() {
      asio::async_read_until(
          stream, asio::dynamic_buffer(received), '\n',
          [self = this->shared_from_this()](const std::error_code& error, std::size_t length) {
            if (error) return;
            self->received.erase(0, length);
            asio::async_write(self->stream, asio::buffer(std::string_view(ok_reply)),
                              [self](const std::error_code& error, std::size_t) {
                                if (!error) self->answer_lines();
                              });
          });
    }

    Stream stream;
    std::string received;
  };
  using TlsStream = asio::ssl::stream<tcp::socket>;

  void accept() {
    acceptor_.async_accept([this](const std::error_code& error, tcp::socket socket) {
      if (error) return;
      if (!context_) {
        std::make_shared<Client<tcp::socket>>(std::move(socket))->answer_lines();
      } else {
        auto client = std::make_shared<Client<TlsStream>>(TlsStream(std::move(socket), *context_));
        client->stream.async_handshake(asio::ssl::stream_base::server,
                                       [client](const std::error_code& error) {
                                         if (!error) client->answer_lines();
                                       });
      }
      accept();
    });
  }

  asio::io_context io_;
  tcp::acceptor acceptor_{io_, {asio::ip::make_address("127.0.0.1"), 0}};
  std::optional<asio::ssl::context> context_;
  std::thread thread_;
};

// What connecting to 127.0.0.1:`port` with `tls` threw; empty if it connected.
std::string connect_error(std::uint16_t port, const std::optional<TlsOptions>& tls) {
  Connection connection;
  try {
    connection.connect("127.0.0.1", port, tls);
  } catch (const ConnectionError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("plain: a request gets its reply") {
  ReplyServer server;
  Connection connection;
  connection.connect("127.0.0.1", server.port());
  connection.send_line("hello");
  CHECK(connection.read_reply() == "{\"status\":\"OK\"}");
}

TEST_CASE("TLS" * test_support::TestCa::needed()) {
  TempDir dir;
  const TestCa ca(dir.path());
  const TlsOptions trust_ca{ca.ca_certificate()};

  SUBCASE("a server whose certificate the CA signed for 127.0.0.1 answers") {
    ReplyServer server(ca.issue("alpha", {"127.0.0.1"}));
    Connection connection;
    connection.connect("127.0.0.1", server.port(), trust_ca);
    connection.send_line("hello");
    CHECK(connection.read_reply() == "{\"status\":\"OK\"}");
    connection.send_line("again");
    CHECK(connection.read_reply() == "{\"status\":\"OK\"}");
  }

  SUBCASE("a certificate naming the host by DNS name verifies when dialled by that name") {
    ReplyServer server(ca.issue("alpha", {"localhost"}));
    Connection connection;
    connection.connect("localhost", server.port(), trust_ca);
    connection.send_line("hello");
    CHECK(connection.read_reply() == "{\"status\":\"OK\"}");
  }

  SUBCASE("a certificate from another CA is refused") {
    const TestCa rogue(dir.path(), "rogue");
    ReplyServer server(rogue.issue("alpha", {"127.0.0.1"}));
    CHECK(connect_error(server.port(), trust_ca) ==
          "cannot connect to 127.0.0.1:" + std::to_string(server.port()) +
              ": TLS handshake failed: certificate verify failed (unable to get local issuer "
              "certificate)");
  }

  SUBCASE("a certificate that does not name the host is refused") {
    ReplyServer server(ca.issue("alpha", {"10.9.9.9"}));
    CHECK(connect_error(server.port(), trust_ca) ==
          "cannot connect to 127.0.0.1:" + std::to_string(server.port()) +
              ": TLS handshake failed: certificate verify failed (IP address mismatch)");
  }

  SUBCASE("a certificate for another DNS name is refused") {
    ReplyServer server(ca.issue("alpha", {"alpha.example"}));
    Connection connection;
    std::string error;
    try {
      connection.connect("localhost", server.port(), trust_ca);
    } catch (const ConnectionError& failure) {
      error = failure.what();
    }
    CHECK(error == "cannot connect to localhost:" + std::to_string(server.port()) +
                       ": TLS handshake failed: certificate verify failed (hostname mismatch)");
  }

  SUBCASE("a CA file that cannot be read is a connection error") {
    ReplyServer server(ca.issue("alpha", {"127.0.0.1"}));
    const std::string missing = (dir.path() / "missing.crt").string();
    const std::string error = connect_error(server.port(), TlsOptions{missing});
    CHECK(error.starts_with("cannot connect to 127.0.0.1:" + std::to_string(server.port()) +
                            ": cannot load the CA certificates from " + missing + ": "));
  }
}
