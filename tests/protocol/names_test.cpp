#include "protocol/names.hpp"

#include <doctest/doctest.h>

#include <string>

using chat::protocol::is_valid_field;
using chat::protocol::is_valid_name;

TEST_CASE("names: 1 to 32 characters of A-Z a-z 0-9 _ . -") {
  CHECK(is_valid_name("a"));
  CHECK(is_valid_name("jokowi"));
  CHECK(is_valid_name("Joko.Widodo-2_x"));
  CHECK(is_valid_name(std::string(32, 'x')));
  CHECK_FALSE(is_valid_name(""));
  CHECK_FALSE(is_valid_name(std::string(33, 'x')));
  CHECK_FALSE(is_valid_name("a b"));
  CHECK_FALSE(is_valid_name("a/b"));
  CHECK_FALSE(is_valid_name("caf\xc3\xa9"));
}

TEST_CASE("fields: 1 to 128 bytes without spaces or control bytes") {
  CHECK(is_valid_field("joko_widodo"));
  CHECK(is_valid_field("123"));
  CHECK(is_valid_field("S\xc3\xa3o_Paulo"));
  CHECK(is_valid_field(std::string(128, 'p')));
  CHECK_FALSE(is_valid_field(""));
  CHECK_FALSE(is_valid_field(std::string(129, 'p')));
  CHECK_FALSE(is_valid_field("a\tb"));
  CHECK_FALSE(is_valid_field("a\x1b[31m"));
}
