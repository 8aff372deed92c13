#pragma once
#include <asio/ssl/context.hpp>
#include <memory>

#include "config/realm_config.hpp"

namespace realmd {

// The TLS settings of realmd's listeners and dialers, made from the `tls:` section; TLS 1.2 or
// newer. A null member means plain TCP there.
struct TlsContexts {
  std::unique_ptr<asio::ssl::context> clients;        // the client listener
  std::unique_ptr<asio::ssl::context> peer_listener;  // accepted links: a certificate required
  std::unique_ptr<asio::ssl::context> peer_dialer;    // dialled links: shows ours, checks theirs
};

// Reads the certificate, key and CA files now: a missing or bad one throws std::runtime_error
// naming the file and the key (a start that would fail at the first connection fails at once).
TlsContexts make_tls_contexts(const std::optional<chat::config::TlsConfig>& tls);

}  // namespace realmd
