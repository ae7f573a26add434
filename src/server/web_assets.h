#pragma once
// The chat page (web/*) compiled into the binary by src/server/web_assets.cmake, so a clean
// build serves it with no files to install and no build chain.
#include <cstddef>
#include <span>
#include <string_view>

namespace sputnik::server {

struct WebAsset {
  std::string_view path;  // "/index.html"
  std::string_view mime;
  std::string_view data;
};

std::span<const WebAsset> web_assets();

}  // namespace sputnik::server
