#include "net/tls_contexts.hpp"

#include <openssl/ssl.h>

#include <stdexcept>
#include <string>

namespace realmd {
namespace {

using asio::ssl::context;

// Runs one context call that reads a file, turning its error into one that names the file.
template <typename Load>
void load(const char* key, const std::filesystem::path& file, Load&& call) {
  std::error_code ec;
  call(ec);
  if (ec) {
    throw std::runtime_error(std::string(key) + ": cannot use '" + file.string() +
                             "': " + ec.message());
  }
}

std::unique_ptr<context> make_context(context::method method, const chat::config::TlsConfig& tls) {
  auto ctx = std::make_unique<context>(method);
  ctx->set_options(context::default_workarounds | context::no_sslv2 | context::no_sslv3 |
                   context::no_tlsv1 | context::no_tlsv1_1 | context::single_dh_use);
  // An idle connection gives its record buffers back (about 34 KiB each): realmd holds many.
  SSL_CTX_set_mode(ctx->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  load("tls.certificate", tls.certificate,
       [&](std::error_code& ec) { ctx->use_certificate_chain_file(tls.certificate, ec); });
  load("tls.key", tls.key,
       [&](std::error_code& ec) { ctx->use_private_key_file(tls.key, context::pem, ec); });
  return ctx;
}

// Peers show a certificate signed by the cluster's CA, both ways.
void verify_peers(context& ctx, const chat::config::TlsConfig& tls) {
  load("tls.ca", tls.ca, [&](std::error_code& ec) { ctx.load_verify_file(tls.ca, ec); });
  ctx.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
}

}  // namespace

TlsContexts make_tls_contexts(const std::optional<chat::config::TlsConfig>& tls) {
  TlsContexts contexts;
  if (!tls) return contexts;
  if (tls->clients) contexts.clients = make_context(context::tls_server, *tls);
  if (tls->peers) {
    contexts.peer_listener = make_context(context::tls_server, *tls);
    verify_peers(*contexts.peer_listener, *tls);
    contexts.peer_dialer = make_context(context::tls_client, *tls);
    verify_peers(*contexts.peer_dialer, *tls);
  }
  return contexts;
}

}  // namespace realmd
