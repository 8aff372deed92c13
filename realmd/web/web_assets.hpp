#pragma once
#include <span>
#include <string_view>

namespace realmd {

// One file of the browser client (realmd/web/), embedded into realmd at build time so that the
// binary serves the page it was built with, from any working directory.
struct WebAsset {
  std::string_view path;          // the URL path it is served at, e.g. "/app.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;
};

// Generated from realmd/web/ by embed_web_assets.cmake.
std::span<const WebAsset> web_assets();

}  // namespace realmd
