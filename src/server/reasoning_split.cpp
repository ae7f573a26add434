#include "server/reasoning_split.h"

#include <algorithm>

namespace sputnik::server {
namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Length of the longest tail of `s` that is a proper prefix of `tag`.
size_t partial_tag_tail(std::string_view s, std::string_view tag) {
  for (size_t len = std::min(s.size(), tag.size() - 1); len > 0; --len)
    if (s.substr(s.size() - len) == tag.substr(0, len)) return len;
  return 0;
}

}  // namespace

ReasoningSplitter::ReasoningSplitter(bool starts_in_thinking, std::string open_tag,
                                     std::string close_tag)
    : open_(std::move(open_tag)),
      close_(std::move(close_tag)),
      state_(starts_in_thinking ? State::kThinking : State::kStart) {}

SplitText ReasoningSplitter::feed(std::string_view text) {
  pending_.append(text);
  return drain(false);
}

SplitText ReasoningSplitter::flush() { return drain(true); }

SplitText ReasoningSplitter::drain(bool final) {
  SplitText out;
  for (;;) {
    if (trim_leading_) {
      size_t n = 0;
      while (n < pending_.size() && (pending_[n] == '\n' || pending_[n] == '\r')) ++n;
      pending_.erase(0, n);
      if (pending_.empty()) return out;
    }
    if (state_ == State::kStart) {
      // Only a leading <think> (after blank space) opens the thinking.
      size_t ws = 0;
      while (ws < pending_.size() && is_space(pending_[ws])) ++ws;
      std::string_view rest = std::string_view(pending_).substr(ws);
      if (rest.starts_with(open_)) {
        pending_.erase(0, ws + open_.size());
        state_ = State::kThinking;
        trim_leading_ = true;
        continue;
      }
      if (!final && std::string_view(open_).starts_with(rest)) return out;  // may still be <think>
      state_ = State::kContent;
      trim_leading_ = false;
      continue;
    }
    if (state_ == State::kContent) {
      out.content += pending_;
      pending_.clear();
      trim_leading_ = false;
      return out;
    }
    // Thinking: everything up to </think> is reasoning; whitespace before the tag is dropped.
    const size_t at = pending_.find(close_);
    if (at != std::string::npos) {
      std::string_view r = std::string_view(pending_).substr(0, at);
      while (!r.empty() && is_space(r.back())) r.remove_suffix(1);
      out.reasoning += r;
      pending_.erase(0, at + close_.size());
      state_ = State::kContent;
      closed_ = true;
      trim_leading_ = true;
      continue;
    }
    if (final) {
      out.reasoning += pending_;
      pending_.clear();
      return out;
    }
    size_t hold = partial_tag_tail(pending_, close_);
    // Trailing whitespace waits too: it is dropped if </think> follows.
    while (hold < pending_.size() && is_space(pending_[pending_.size() - hold - 1])) ++hold;
    if (pending_.size() > hold) trim_leading_ = false;
    out.reasoning += pending_.substr(0, pending_.size() - hold);
    pending_.erase(0, pending_.size() - hold);
    return out;
  }
}

}  // namespace sputnik::server
