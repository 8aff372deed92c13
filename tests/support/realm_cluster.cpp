#include "support/realm_cluster.hpp"

#include "support/free_port.hpp"

namespace test_support {

RealmCluster::RealmCluster(const std::vector<Realm>& realms, std::chrono::milliseconds keepalive) {
  std::map<std::string, std::uint16_t> peer_ports;
  for (const Realm& realm : realms) peer_ports[realm.name] = free_port();
  for (const Realm& realm : realms) {
    std::string peers = "peers: [";
    for (const auto& [name, port] : peer_ports) {
      if (name == realm.name) continue;
      if (peers.back() != '[') peers += ", ";
      peers += "{name: " + name + ", address: 127.0.0.1:" + std::to_string(port) + "}";
    }
    peers += "]\n";
    const std::filesystem::path folder = dir_.path() / realm.name;
    std::filesystem::create_directories(folder);
    processes_[realm.name] = std::make_unique<RealmdProcess>(
        folder, RealmdProcess::config_yaml(realm.name, folder / "data", realm.extra_yaml + peers,
                                           peer_ports[realm.name], keepalive));
  }
}

std::vector<std::string> RealmCluster::names() const {
  std::vector<std::string> names;
  for (const auto& [name, process] : processes_) names.push_back(name);
  return names;
}

std::string users_yaml(const std::vector<std::string>& names) {
  std::string yaml = "users: [";
  for (const std::string& name : names) {
    if (yaml.back() != '[') yaml += ", ";
    yaml += "{username: " + name + ", password: pw, nama: " + name + "_N, negara: X}";
  }
  return yaml + "]\n";
}

}  // namespace test_support
