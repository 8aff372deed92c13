// What only the memory store has: injected failures and the commit count.
#include "store/memory_store.hpp"

#include <doctest/doctest.h>

#include <vector>

namespace chat::store {

TEST_CASE("MemoryStore counts committed transactions and can be made to fail") {
  MemoryStore store;
  const std::vector<Mutation> first = {PutGroup{"sepakbola"}};
  const std::vector<Mutation> second = {PutGroup{"badminton"}};
  CHECK(store.commits() == 0);
  store.commit(first);
  CHECK(store.commits() == 1);

  store.fail_next_commits(true);
  CHECK_THROWS_WITH_AS(store.commit(second), "injected failure (fail_next_commits)", StoreError);
  CHECK_THROWS_AS(store.commit(second), StoreError);
  CHECK(store.commits() == 1);
  CHECK(store.load().groups.size() == 1);

  store.fail_next_commits(false);
  store.commit(second);
  CHECK(store.commits() == 2);
  CHECK(store.load().groups.size() == 2);

  CHECK_THROWS_AS(store.commit(second), StoreError);  // a real failure does not count either
  CHECK(store.commits() == 2);
}

}  // namespace chat::store
