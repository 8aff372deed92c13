// The real realmd with tls.clients on and the real chatclient --tls: a throwaway CA made with
// the openssl command, a register, a send and an inbox end to end over TLS; a client trusting
// another CA, and one speaking plain TCP, get nothing from the realm.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

#include "support/realmd_process.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"

using test_support::RealmdProcess;
using test_support::TempDir;
using test_support::TestCa;

namespace {

using Run = test_support::CommandRun;

// chatclient connected to 127.0.0.1:`port` with `arguments` (already shell-quoted); its stdout
// and stderr.
Run run_chatclient(std::uint16_t port, const std::string& arguments) {
  return test_support::run_command(test_support::built_program("chatclient") +
                                   " --connect 127.0.0.1:" + std::to_string(port) + " " +
                                   arguments + " 2>&1");
}

}  // namespace

TEST_CASE("realmd with tls.clients serves chatclient --tls; a rogue CA and plain TCP fail" *
          test_support::TestCa::needed()) {
  TempDir dir;
  const TestCa ca(dir.path());
  const TestCa::Leaf alpha = ca.issue("alpha", {"alpha", "127.0.0.1"});
  const std::string ca_file = ca.ca_certificate().string();
  RealmdProcess realm(
      dir.path(),
      RealmdProcess::config_yaml(
          "alpha", dir.path() / "data",
          "users: [{username: messi, password: pw, nama: Lionel_Messi, negara: Argentina}]\n"
          "tls:\n"
          "  certificate: " +
              alpha.certificate.string() + "\n  key: " + alpha.key.string() + "\n  ca: " + ca_file +
              "\n  peers: false\n"));
  realm.start();
  CHECK(realm.log().find("realm alpha: clients (TLS) on 127.0.0.1:" +
                         std::to_string(realm.client_port())) != std::string::npos);
  const std::string tls = "--tls --ca '" + ca_file + "' ";

  const Run bob =
      run_chatclient(realm.client_port(), tls + "-c 'register bob rahasia Bob_Marley Jamaica' " +
                                              "-c 'send messi halo lewat TLS'");
  CHECK(bob.exit_code == 0);
  CHECK(bob.out == "ok: User registered, logged in as bob\nok: Message sent\n");

  const Run messi = run_chatclient(realm.client_port(), tls + "--json -c 'auth messi pw' -c inbox");
  CHECK(messi.exit_code == 0);
  const std::regex expected(
      R"(\{"status":"OK","tokenid":"[0-9a-f-]{36}"\}\n)"
      R"(\{"status":"OK","messages":\{"bob":\[\{"id":1,"msg_from":"bob","msg_to":"messi",)"
      R"("msg":"halo lewat TLS","realm":"alpha","time":"[0-9T:Z-]{20}"\}\]\}\}\n)");
  CHECK_MESSAGE(std::regex_match(messi.out, expected), messi.out);

  SUBCASE("a client trusting another CA: exit 1, certificate verify failed") {
    const TestCa rogue(dir.path(), "rogue");
    const Run run = run_chatclient(realm.client_port(),
                                   "--ca '" + rogue.ca_certificate().string() + "' -c inbox");
    CHECK(run.exit_code == 1);
    CHECK(run.out ==
          "chatclient: cannot connect to 127.0.0.1:" + std::to_string(realm.client_port()) +
              ": TLS handshake failed: certificate verify failed (unable to get "
              "local issuer certificate)\n");
  }
  SUBCASE("a plain-TCP client gets no reply") {
    const Run run = run_chatclient(realm.client_port(), "-c 'auth messi pw' -c inbox");
    CHECK(run.exit_code == 1);
    CHECK(run.out ==
          "chatclient: connection closed by server before it said anything (a TLS port? try "
          "--tls)\n");
  }
  CHECK(realm.terminate() == 0);
}
