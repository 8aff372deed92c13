#pragma once
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/needs_tool.hpp"

namespace test_support {

// A throwaway certificate authority, made with the `openssl` command in `dir` when a test runs
// (nothing secret is committed): EC P-256 keys, certificates valid for a day. Leaf
// certificates carry their names in subjectAltName (DNS names, or IP addresses such as
// 127.0.0.1), which is what TLS clients verify.
class TestCa {
 public:
  struct Leaf {
    std::filesystem::path certificate;  // PEM
    std::filesystem::path key;          // PEM
  };

  // `label` names the files, so that two CAs can share a directory (e.g. "ca", "rogue-ca").
  explicit TestCa(std::filesystem::path dir, std::string label = "ca")
      : dir_(std::move(dir)), label_(std::move(label)) {
    if (!available()) {
      throw std::runtime_error(
          "no openssl command to make a test CA (scripts/bootstrap.sh installs it)");
    }
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "
        "'/CN=realmchat test " +
        label_ + "' -keyout " + quoted(file(label_ + ".key")) + " -out " +
        quoted(ca_certificate()));
  }

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path ca_certificate() const { return file(label_ + ".crt"); }

  // A certificate for `common_name` signed by this CA, naming `alt_names` (each a DNS name or
  // an IP address) in its subjectAltName; usable by servers and by clients.
  Leaf issue(const std::string& common_name, const std::vector<std::string>& alt_names) const {
    const std::string base = label_ + "-" + common_name;
    Leaf leaf{file(base + ".crt"), file(base + ".key")};
    std::string san;
    for (const std::string& name : alt_names) {
      const bool is_ip = name.find_first_not_of("0123456789.") == std::string::npos ||
                         name.find(':') != std::string::npos;
      if (!san.empty()) san += ',';
      san += is_ip ? "IP:" : "DNS:";
      san += name;
    }
    const std::filesystem::path extensions = file(base + ".ext");
    write(extensions, "subjectAltName=" + san +
                          "\nextendedKeyUsage=serverAuth,clientAuth\n"
                          "basicConstraints=CA:FALSE\n");
    const std::filesystem::path request = file(base + ".csr");
    run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=" +
        common_name + "' -keyout " + quoted(leaf.key) + " -out " + quoted(request));
    run("openssl x509 -req -days 1 -in " + quoted(request) + " -CA " + quoted(ca_certificate()) +
        " -CAkey " + quoted(file(label_ + ".key")) + " -CAcreateserial -extfile " +
        quoted(extensions) + " -out " + quoted(leaf.certificate));
    return leaf;
  }

  // Whether the openssl command is there (scripts/bootstrap.sh installs it).
  static bool available() { return ::system("openssl version >/dev/null 2>&1") == 0; }
  // The decorator of a test case that makes a TestCa (support/needs_tool.hpp).
  static NeedsTool needed() {
    static const NeedsTool decorator = needs_tool("openssl version >/dev/null 2>&1",
                                                  "needs the openssl command, to make a test CA");
    return decorator;
  }

 private:
  std::filesystem::path file(const std::string& name) const { return dir_ / name; }
  static std::string quoted(const std::filesystem::path& path) {
    // Appended, not "'" + path.string(): g++ 12 at -O3 warns about that (-Wrestrict, a false
    // positive) and -Werror makes it fatal.
    std::string text = "'";
    text += path.string();
    text += '\'';
    return text;
  }
  static void write(const std::filesystem::path& path, const std::string& text) {
    if (FILE* out = ::fopen(path.c_str(), "w")) {
      ::fputs(text.c_str(), out);
      ::fclose(out);
      return;
    }
    throw std::runtime_error("cannot write " + path.string());
  }
  static void run(const std::string& command) {
    if (::system((command + " >/dev/null 2>&1").c_str()) != 0) {
      throw std::runtime_error("failed: " + command);
    }
  }

  std::filesystem::path dir_;
  std::string label_;
};

}  // namespace test_support
