#include "chat/reasoning_parser.h"

#include <algorithm>

namespace sputnik {

namespace {

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Length of the longest suffix of `s` that is a proper prefix of `tag` (a tag that may still
// be completed by the next piece).
size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
  for (size_t n = std::min(s.size(), tag.size() - 1); n > 0; --n)
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

}  // namespace

ReasoningParser::ReasoningParser(ReasoningStyle style, std::string open_tag, std::string close_tag)
    : open_(std::move(open_tag)), close_(std::move(close_tag)) {
  switch (style) {
    case ReasoningStyle::PromptOpened: state_ = State::ReasoningStart; break;
    case ReasoningStyle::ModelOpens: state_ = State::Start; break;
    case ReasoningStyle::None: state_ = State::Content; break;
  }
}

ReasoningStyle ReasoningParser::style_for_prompt(std::string_view prompt, std::string_view open_tag,
                                                 std::string_view close_tag) {
  size_t end = prompt.size();
  while (end > 0 && is_ws(prompt[end - 1])) --end;
  std::string_view p = prompt.substr(0, end);
  auto ends_with = [&](std::string_view tag) { return p.size() >= tag.size() && p.substr(p.size() - tag.size()) == tag; };
  if (ends_with(open_tag)) return ReasoningStyle::PromptOpened;
  if (ends_with(close_tag)) return ReasoningStyle::None;
  return ReasoningStyle::ModelOpens;
}

ReasoningDelta ReasoningParser::feed(std::string_view piece) {
  pending_.append(piece);
  ReasoningDelta out;
  step(out, false);
  return out;
}

ReasoningDelta ReasoningParser::finish() {
  ReasoningDelta out;
  step(out, true);
  return out;
}

ReasoningDelta ReasoningParser::parse(std::string_view text, ReasoningStyle style) {
  ReasoningParser p(style);
  ReasoningDelta a = p.feed(text);
  ReasoningDelta b = p.finish();
  a.reasoning += b.reasoning;
  a.content += b.content;
  return a;
}

// Advances the state machine over pending_ as far as the text seen so far decides it.
// `final`: no more text will come, so nothing may stay held back.
void ReasoningParser::step(ReasoningDelta& out, bool final) {
  while (true) {
    switch (state_) {
      case State::Start: {
        // Before any visible output: an opening tag (after optional whitespace) starts the
        // thinking; anything else means the model answers directly.
        size_t ws = 0;
        while (ws < pending_.size() && is_ws(pending_[ws])) ++ws;
        std::string_view rest = std::string_view(pending_).substr(ws);
        if (rest.size() >= open_.size() && rest.substr(0, open_.size()) == open_) {
          pending_.erase(0, ws + open_.size());
          state_ = State::ReasoningStart;
          continue;
        }
        bool undecided = rest.empty() || std::string_view(open_).substr(0, rest.size()) == rest;
        if (undecided && !final) return;
        state_ = State::Content;
        continue;
      }
      case State::ReasoningStart: {
        // Drop newlines (and a repeated opening tag) before the first reasoning text.
        size_t ws = 0;
        while (ws < pending_.size() && is_ws(pending_[ws])) ++ws;
        std::string_view rest = std::string_view(pending_).substr(ws);
        if (rest.size() >= open_.size() && rest.substr(0, open_.size()) == open_) {
          pending_.erase(0, ws + open_.size());
          continue;
        }
        if (rest.empty()) {
          if (final) pending_.clear();
          return;
        }
        if (!final && std::string_view(open_).substr(0, rest.size()) == rest) return;
        pending_.erase(0, ws);
        state_ = State::Reasoning;
        continue;
      }
      case State::Reasoning: {
        size_t at = pending_.find(close_);
        if (at != std::string::npos) {
          size_t end = at;
          while (end > 0 && pending_[end - 1] == '\n') --end;  // newlines before </think>
          out.reasoning.append(pending_, 0, end);
          pending_.erase(0, at + close_.size());
          closed_ = true;
          state_ = State::ContentStart;
          continue;
        }
        // Hold back a possible partial closing tag and the newlines right before it.
        size_t hold = final ? 0 : partial_tag_suffix(pending_, close_);
        size_t emit = pending_.size() - hold;
        while (emit > 0 && pending_[emit - 1] == '\n') --emit;
        if (final && emit < pending_.size()) {
          // Unterminated thinking: nothing can follow, trailing newlines are dropped.
          out.reasoning.append(pending_, 0, emit);
          pending_.clear();
          return;
        }
        out.reasoning.append(pending_, 0, emit);
        pending_.erase(0, emit);
        return;
      }
      case State::ContentStart: {
        size_t nl = 0;
        while (nl < pending_.size() && (pending_[nl] == '\n' || pending_[nl] == '\r')) ++nl;
        pending_.erase(0, nl);
        if (pending_.empty()) return;
        state_ = State::Content;
        continue;
      }
      case State::Content:
        out.content += pending_;
        pending_.clear();
        return;
    }
  }
}

}  // namespace sputnik
