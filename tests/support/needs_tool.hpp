#pragma once
#include <doctest/doctest.h>
#include <stdlib.h>

#include <string_view>

namespace test_support {

// Whether the tests run in CI: CI set (GitHub Actions, GitLab CI and most others set CI=true).
inline bool running_in_ci() {
  const char* ci = ::getenv("CI");
  return ci != nullptr && *ci != '\0' && std::string_view(ci) != "false" &&
         std::string_view(ci) != "0";
}

// A test case's decorator for an outside command it needs: where the command is missing, the
// case is skipped, and visibly so (tests/doctest_main.cpp names it, CTest reports the binary
// as skipped); in CI it always runs, so that there a missing command is a failure (the case's
// first use of it fails with a message naming it), not a skip.
//   TEST_CASE("TLS ..." * test_support::needs_openssl())
struct NeedsTool {
  bool skip = false;
  const char* why = "";

  void fill(doctest::detail::TestCase& state) const {
    doctest::skip(skip).fill(state);
    doctest::description(why).fill(state);
  }
  void fill(doctest::detail::TestSuite& state) const {
    doctest::skip(skip).fill(state);
    doctest::description(why).fill(state);
  }
};

// `probe` is a shell command that succeeds where the tool is there.
inline NeedsTool needs_tool(const char* probe, const char* why) {
  return {!running_in_ci() && ::system(probe) != 0, why};
}

}  // namespace test_support
