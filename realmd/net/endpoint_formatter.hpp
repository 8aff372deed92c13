#pragma once
#include <fmt/ostream.h>

#include <asio/ip/tcp.hpp>

// fmt 9 no longer formats through operator<<; endpoints are logged often enough to say so once.
template <>
struct fmt::formatter<asio::ip::tcp::endpoint> : fmt::ostream_formatter {};
