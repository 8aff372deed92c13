#include "chatclient/transport.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace chat::client {
namespace {

// asio's host name check, which on a mismatch leaves OpenSSL's verify result at "ok"; this
// records the mismatch so that the user is told why the certificate was refused.
class HostCheck {
 public:
  explicit HostCheck(const std::string& host, bool is_address)
      : check_(host), is_address_(is_address) {}

  bool operator()(bool preverified, asio::ssl::verify_context& context) const {
    if (check_(preverified, context)) return true;
    X509_STORE_CTX* store = context.native_handle();
    if (preverified && X509_STORE_CTX_get_error(store) == X509_V_OK) {
      X509_STORE_CTX_set_error(
          store, is_address_ ? X509_V_ERR_IP_ADDRESS_MISMATCH : X509_V_ERR_HOSTNAME_MISMATCH);
    }
    return false;
  }

 private:
  asio::ssl::host_name_verification check_;
  bool is_address_;
};

}  // namespace

std::error_code Transport::use_tls(const TlsOptions& options, const std::string& host) {
  context_.emplace(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context_->native_handle(), TLS1_2_VERSION);
  context_->set_verify_mode(asio::ssl::verify_peer);
  std::error_code error;
  if (options.ca_file.empty()) {
    context_->set_default_verify_paths(error);
  } else {
    context_->load_verify_file(options.ca_file.string(), error);
  }
  if (error) return error;

  tls_.emplace(socket_, *context_);
  std::error_code not_an_address;
  asio::ip::make_address(host, not_an_address);
  const bool is_address = !not_an_address;
  tls_->set_verify_callback(HostCheck(host, is_address));
  // SNI carries names only (RFC 6066 §3); an address is already known to the server.
  if (!is_address) SSL_set_tlsext_host_name(tls_->native_handle(), host.c_str());
  return {};
}

std::string Transport::handshake_failure(const std::error_code& error) {
  if (error.category() != asio::error::get_ssl_category()) return error.message();
  const char* reason = ERR_reason_error_string(static_cast<unsigned long>(error.value()));
  std::string text = reason != nullptr ? reason : error.message();
  const long verify_result = SSL_get_verify_result(tls_->native_handle());
  if (verify_result != X509_V_OK) {
    text += std::string(" (") + X509_verify_cert_error_string(verify_result) + ")";
  }
  return text;
}

bool Transport::is_closed_by_peer(const std::error_code& error) const {
  // A TLS server may close the socket without a close_notify first: that is a hang-up too.
  return error == asio::error::eof || (tls_ && error == asio::ssl::error::stream_truncated);
}

void Transport::close() {
  socket_.close();
}

}  // namespace chat::client
