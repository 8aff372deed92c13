#include "net/http_request.hpp"

#include <algorithm>
#include <cctype>

namespace realmd {
namespace {

HttpRequestParser& self(http_parser* parser) {
  return *static_cast<HttpRequestParser*>(parser->data);
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string_view HttpRequest::header(std::string_view lowercase_name) const {
  const auto it = headers.find(lowercase_name);
  return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

HttpRequestParser::HttpRequestParser() {
  http_parser_settings_init(&settings_);
  settings_.on_url = &HttpRequestParser::on_url;
  settings_.on_header_field = &HttpRequestParser::on_header_field;
  settings_.on_header_value = &HttpRequestParser::on_header_value;
  settings_.on_headers_complete = &HttpRequestParser::on_headers_complete;
  settings_.on_message_complete = &HttpRequestParser::on_message_complete;
  reset();
}

void HttpRequestParser::reset() {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  state_ = State::incomplete;
  request_ = HttpRequest{};
  head_bytes_ = 0;
  headers_done_ = false;
  field_.clear();
  value_.clear();
  in_value_ = false;
  invalid_ = false;
  last_was_cr_ = false;
  line_ends_in_a_row_ = 0;
  head_scanned_ = false;
}

// RFC 9112 §2.2: a bare CR in the head is invalid. http-parser, built lenient, takes one for a
// line end, so bytes after it would be read as a body where a proxy in front could read more
// headers (fuzz_web_http found it: the same request read two ways).
bool HttpRequestParser::bare_cr_in_head(std::string_view bytes) {
  for (const char c : bytes) {
    if (head_scanned_) return false;
    if (last_was_cr_ && c != '\n') return true;
    last_was_cr_ = c == '\r';
    if (c == '\n') {
      head_scanned_ = ++line_ends_in_a_row_ == 2;  // "\r\n\r\n" ends the head
    } else if (c != '\r') {
      line_ends_in_a_row_ = 0;
    }
  }
  return false;
}

std::size_t HttpRequestParser::feed(std::string_view bytes) {
  if (state_ != State::incomplete) return 0;
  // The head is read no further than its limit (and one byte to know it goes on).
  if (!headers_done_) bytes = bytes.substr(0, max_http_head_bytes + 1 - head_bytes_);
  if (!headers_done_ && bare_cr_in_head(bytes)) {
    state_ = State::error;
    return 0;
  }
  const bool head_before = !headers_done_;
  const std::size_t used = http_parser_execute(&parser_, &settings_, bytes.data(), bytes.size());
  if (head_before && !headers_done_) {
    head_bytes_ += used;
    if (head_bytes_ > max_http_head_bytes) {
      state_ = State::too_large;
      return used;
    }
  }
  const http_errno error = HTTP_PARSER_ERRNO(&parser_);
  if (error == HPE_PAUSED) {  // on_message_complete paused it: one request is whole
    http_parser_pause(&parser_, 0);
    return used;
  }
  if (error != HPE_OK) {
    state_ = State::error;
    return used;
  }
  return used;
}

int HttpRequestParser::on_url(http_parser* parser, const char* at, std::size_t length) {
  self(parser).request_.target.append(at, length);
  return 0;
}

int HttpRequestParser::on_header_field(http_parser* parser, const char* at, std::size_t length) {
  HttpRequestParser& me = self(parser);
  if (me.in_value_) me.finish_header();  // a new header starts
  me.field_.append(at, length);
  return 0;
}

int HttpRequestParser::on_header_value(http_parser* parser, const char* at, std::size_t length) {
  HttpRequestParser& me = self(parser);
  me.in_value_ = true;
  me.value_.append(at, length);
  return 0;
}

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// RFC 9110 §5.1: a field name is a token (http-parser, built lenient, lets more through).
bool is_token(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  });
}

// RFC 9110 §5.5: visible characters, spaces and tabs; no control characters (http-parser
// lets some through inside folded lines).
bool is_field_value(std::string_view value) {
  return std::none_of(value.begin(), value.end(),
                      [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; });
}

}  // namespace

void HttpRequestParser::finish_header() {
  if (!is_token(field_) || !is_field_value(value_)) invalid_ = true;
  const std::string_view value = trim(value_);
  auto [it, added] = request_.headers.try_emplace(lowercase(field_), value);
  // A repeated field adds its value to the list; empty elements are no elements (§5.6.1).
  if (!added && !value.empty()) {
    if (!it->second.empty()) it->second += ", ";
    it->second += value;
  }
  field_.clear();
  value_.clear();
  in_value_ = false;
}

int HttpRequestParser::on_headers_complete(http_parser* parser) {
  HttpRequestParser& me = self(parser);
  if (me.in_value_) me.finish_header();
  me.headers_done_ = true;
  // Only HTTP/1.x (a -1 is an error for http-parser; 1 and 2 mean "no body").
  if (me.invalid_ || parser->http_major != 1) return -1;
  HttpRequest& request = me.request_;
  request.method = http_method_str(static_cast<http_method>(parser->method));
  request.version_minor = parser->http_major == 1 ? parser->http_minor : 0;
  request.keep_alive = http_should_keep_alive(parser) != 0;
  request.upgrade = parser->upgrade != 0;
  return 0;
}

int HttpRequestParser::on_message_complete(http_parser* parser) {
  HttpRequestParser& me = self(parser);
  me.state_ = State::complete;
  http_parser_pause(parser, 1);  // the next request waits for reset()
  return 0;
}

std::string http_response(std::string_view status, std::string_view content_type,
                          std::string_view body, bool head_only, bool keep_alive,
                          std::string_view extra_headers) {
  std::string out = "HTTP/1.1 ";
  out += status;
  out += "\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra_headers;
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

}  // namespace realmd
