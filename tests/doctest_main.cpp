// doctest's main, with skips that show. A test case skipped by its decorator (doctest::skip,
// e.g. test_support::needs_openssl()) is named on stdout, "SKIPPED <binary>: <test case>
// (<why>)", and a binary that skipped one and failed none exits with skip_exit_code, which
// CTest reports as "Skipped", not "Passed" (SKIP_RETURN_CODE in tests/CMakeLists.txt);
// scripts/test.sh lists these lines in its summary.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int skip_exit_code = 77;  // the automake convention CTest's SKIP_RETURN_CODE names

std::vector<std::string>& skipped_cases() {
  static std::vector<std::string> cases;
  return cases;
}

// Only test_case_skipped matters; the other events are the console reporter's.
class SkipListener final : public doctest::IReporter {
 public:
  explicit SkipListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  // Also called for cases left out by a filter (-tc=...): only a skip decorator counts.
  void test_case_skipped(const doctest::TestCaseData& test) override {
    if (!test.m_skip) return;
    std::string entry = test.m_name;
    if (test.m_description != nullptr && *test.m_description != '\0') {
      entry.append(" (").append(test.m_description).append(")");
    }
    skipped_cases().push_back(std::move(entry));
  }
};

REGISTER_LISTENER("skips", 1, SkipListener);

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit()) return result;
  std::string_view binary = argc > 0 ? argv[0] : "test";
  binary.remove_prefix(binary.find_last_of('/') + 1);  // npos + 1 == 0: no slash
  for (const std::string& entry : skipped_cases()) {
    std::printf("SKIPPED %.*s: %s\n", static_cast<int>(binary.size()), binary.data(),
                entry.c_str());
  }
  if (result == 0 && !skipped_cases().empty()) return skip_exit_code;
  return result;
}
