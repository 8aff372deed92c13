#include "net/line_wire.hpp"

namespace realmd {

WireFormat::Status LineWire::next(std::string& request) {
  switch (framer_.next(request)) {
    case chat::protocol::LineFramer::Status::need_more:
      return Status::need_more;
    case chat::protocol::LineFramer::Status::too_long:
      return Status::too_long;
    case chat::protocol::LineFramer::Status::line:
      break;
  }
  return Status::request;
}

}  // namespace realmd
