#pragma once
#include <string>

namespace realmd {

// `realmd --version`: the release, the git revision it was built from, and the versions of the
// libraries it runs with (docs/operations.md), one per line.
std::string version_info();

}  // namespace realmd
