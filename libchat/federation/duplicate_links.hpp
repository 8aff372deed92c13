#pragma once
#include <string_view>

namespace chat::federation {

// At most one link per pair of realms (docs/contract.md §2). When a second link to the same peer
// authenticates while one exists, both realms must keep the same one without talking about it:
// the link dialed by the realm with the smaller name (std::string order) wins. Two links dialed
// by the same side mean that side redialed because it saw the old link die, so the new one wins.
// Returns true when the new link replaces the existing one, false when the new one is closed.
bool keep_new_link(std::string_view own_name, std::string_view peer_name,
                   bool existing_dialed_by_me, bool new_dialed_by_me);

}  // namespace chat::federation
