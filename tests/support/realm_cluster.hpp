#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/realmd_process.hpp"
#include "support/temp_dir.hpp"

namespace test_support {

// Real realmd processes that each name all the others as peers, on peer ports fixed up front
// so that restarts keep them, each in its own folder of one temporary directory. Nothing is
// started.
class RealmCluster {
 public:
  struct Realm {
    std::string name;
    std::string extra_yaml;  // top-level keys: users:, admins:, ...
  };

  // A non-zero `keepalive` sets federation.keepalive_ms on every realm.
  explicit RealmCluster(const std::vector<Realm>& realms, std::chrono::milliseconds keepalive = {});

  RealmdProcess& operator[](const std::string& name) { return *processes_.at(name); }
  std::vector<std::string> names() const;
  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  std::map<std::string, std::unique_ptr<RealmdProcess>> processes_;
};

// The users: entry of `names`, each with password "pw".
std::string users_yaml(const std::vector<std::string>& names);

}  // namespace test_support
