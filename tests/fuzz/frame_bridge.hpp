#pragma once
#include <optional>

#include "core/peer_frames.hpp"
#include "federation/frames.hpp"

// The mapping between the realm logic's peer frames and the link codec's frames, as realmd's
// peer link does it (realmd/peer_link.cpp keeps its own copy, private to realmd).
namespace fuzz {

chat::federation::Frame to_wire(const chat::core::PeerFrame& frame);
// Nothing for the frames the realm logic never sees: hello, auth, ping, pong.
std::optional<chat::core::PeerFrame> from_wire(const chat::federation::Frame& frame);

}  // namespace fuzz
