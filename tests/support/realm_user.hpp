#pragma once
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "support/line_client.hpp"

namespace test_support {

// A client of one realm, logged in with auth; calling it sends a line and returns the reply.
class RealmUser {
 public:
  RealmUser(std::uint16_t port, const std::string& name, const std::string& password)
      : client_(port) {
    const std::string reply = client_.request("auth " + name + " " + password);
    REQUIRE_MESSAGE(reply.starts_with(R"({"status":"OK")"), reply);
  }
  std::string operator()(const std::string& line) { return client_.request(line); }

 private:
  LineClient client_;
};

// The `realms` entry of one peer as the user's realm shows it, e.g.
// {"name":"beta","state":"linked",...}; empty if the realm does not list it.
inline std::string realm_entry(RealmUser& user, const std::string& peer) {
  const std::string reply = user("realms");
  const auto at = reply.find(R"({"name":")" + peer + R"(")");
  if (at == std::string::npos) return {};
  return reply.substr(at, reply.find('}', at) - at + 1);
}

}  // namespace test_support
