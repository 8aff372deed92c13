// A fuzz target's inputs replayed without libFuzzer, in the normal build: every file named on
// the command line, or found in a directory named there, goes once through the target's
// LLVMFuzzerTestOneInput (after its LLVMFuzzerInitialize, if it has one). A violated property
// aborts (fuzz::fail), so a committed corpus fails its CTest case (fuzz_corpus_*) as soon as a
// change breaks what one of its inputs checks, without clang or a fuzzing run.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));

namespace {

namespace fs = std::filesystem;

// The input being replayed, for the signal handler (which may only write(2)).
char current_input[4096] = "";

void name_the_input(int signal) {
  constexpr char prefix[] = "\n*** while replaying: ";
  [[maybe_unused]] auto written = ::write(2, prefix, sizeof prefix - 1);
  written = ::write(2, current_input, std::strlen(current_input));
  written = ::write(2, "\n", 1);
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

std::vector<fs::path> inputs(int argc, char** argv) {
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path path = argv[i];
    if (!fs::is_directory(path)) {
      files.push_back(path);
      continue;
    }
    std::vector<fs::path> found;
    for (const auto& entry : fs::directory_iterator(path)) {
      if (entry.is_regular_file()) found.push_back(entry.path());
    }
    std::sort(found.begin(), found.end());  // the same order on every run
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  const std::vector<fs::path> files = inputs(argc, argv);
  if (files.empty()) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...: no input found\n", argv[0]);
    return 1;
  }
  for (int signal : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) ::signal(signal, name_the_input);
  for (const fs::path& file : files) {
    std::snprintf(current_input, sizeof current_input, "%s", file.c_str());
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", file.c_str());
      return 1;
    }
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("%zu inputs replayed\n", files.size());
  return 0;
}
