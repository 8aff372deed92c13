#include "federation/duplicate_links.hpp"

#include <doctest/doctest.h>

using chat::federation::keep_new_link;

TEST_CASE("the link dialed by the smaller name wins") {
  // alpha < beta: alpha's dialed link wins, on both sides.
  CHECK(keep_new_link("alpha", "beta", /*existing_dialed_by_me=*/false, /*new_dialed_by_me=*/true));
  CHECK_FALSE(keep_new_link("alpha", "beta", true, false));
  CHECK(keep_new_link("beta", "alpha", true, false));
  CHECK_FALSE(keep_new_link("beta", "alpha", false, true));
  // std::string order: uppercase sorts before lowercase, a prefix before its extensions.
  CHECK(keep_new_link("Zeta", "alpha", false, true));
  CHECK(keep_new_link("alp", "alpha", false, true));
  CHECK_FALSE(keep_new_link("alpha", "alp", false, true));
}

TEST_CASE("both sides agree whichever link authenticated first") {
  for (const bool alpha_link_first : {true, false}) {
    CAPTURE(alpha_link_first);
    // The surviving link is the one alpha dialed: alpha keeps it, beta keeps it.
    const bool alpha_keeps_new =
        keep_new_link("alpha", "beta", alpha_link_first, !alpha_link_first);
    const bool beta_keeps_new = keep_new_link("beta", "alpha", !alpha_link_first, alpha_link_first);
    CHECK(alpha_keeps_new == !alpha_link_first);
    CHECK(beta_keeps_new == alpha_keeps_new);
  }
}

TEST_CASE("a redial by the same side replaces the old link") {
  CHECK(keep_new_link("alpha", "beta", true, true));
  CHECK(keep_new_link("alpha", "beta", false, false));
  CHECK(keep_new_link("beta", "alpha", true, true));
  CHECK(keep_new_link("beta", "alpha", false, false));
}
