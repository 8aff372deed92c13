#include "federation/duplicate_links.hpp"

namespace chat::federation {

bool keep_new_link(std::string_view own_name, std::string_view peer_name,
                   bool existing_dialed_by_me, bool new_dialed_by_me) {
  if (existing_dialed_by_me == new_dialed_by_me) return true;
  const bool winner_is_mine = own_name < peer_name;
  return new_dialed_by_me == winner_is_mine;
}

}  // namespace chat::federation
