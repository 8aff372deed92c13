#pragma once
#include <optional>

#include "core/peer_frames.hpp"
#include "federation/frames.hpp"

// Between the realm logic's peer frames (core::PeerFrame) and the link codec's frames.
namespace chat::federation {

Frame to_link_frame(const core::PeerFrame& frame);
// Nothing for the frames the realm logic never sees: hello, auth, ping, pong.
std::optional<core::PeerFrame> to_peer_frame(const Frame& frame);

}  // namespace chat::federation
