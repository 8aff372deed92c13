#pragma once
#include <string>

namespace chatbench {

// What one connection sends during one phase of a run.
class RequestSource {
 public:
  virtual ~RequestSource() = default;
  // Appends the next request (with its line end) to `out`; false when there is none left.
  virtual bool next(std::string& out) = 0;
};

}  // namespace chatbench
