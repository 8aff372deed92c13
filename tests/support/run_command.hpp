#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <stdexcept>
#include <string>

namespace test_support {

struct CommandRun {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;     // stdout (add 2>&1 to the command for stderr too)
};

// Runs `command` through the shell with stdin from /dev/null and waits for it.
inline CommandRun run_command(const std::string& command) {
  CommandRun run;
  FILE* pipe = ::popen((command + " </dev/null").c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  char chunk[4096];
  while (const std::size_t n = std::fread(chunk, 1, sizeof chunk, pipe)) run.out.append(chunk, n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// A built program: in $REALMCHAT_BIN (ctest sets it), else in the build's bin directory (the
// test target's REALMCHAT_BIN_DIR).
inline std::string built_program(const std::string& name) {
  const char* bin = std::getenv("REALMCHAT_BIN");
  return std::string(bin != nullptr ? bin : REALMCHAT_BIN_DIR) + "/" + name;
}

}  // namespace test_support
