#pragma once
// Stop strings over streamed text. Text is released only when no stop string can still begin
// inside it: the longest tail that is a prefix of some stop string is held back until the next
// piece decides it. So a stop string is never half-sent in one chunk and completed in the next,
// and the text after a matched stop string is never sent at all.
#include <string>
#include <string_view>
#include <vector>

namespace sputnik::server {

class StopFilter {
 public:
  explicit StopFilter(std::vector<std::string> stops = {});

  // Returns the text that is now safe to send. After a stop string matched, stopped() is true,
  // the returned text ends just before it, and later calls return "".
  std::string feed(std::string_view text);
  // End of generation: releases what was held back (nothing if stopped).
  std::string flush();
  bool stopped() const { return stopped_; }
  const std::string& matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace sputnik::server
