#include "server/choice_stream.h"

namespace sputnik::server {

using nlohmann::json;

ChoiceStream::ChoiceStream(int index, std::unique_ptr<TokenText> text, ChoiceOptions options)
    : index_(index),
      text_(std::move(text)),
      opt_(std::move(options)),
      parser_(opt_.split_reasoning ? opt_.style : ReasoningStyle::None),
      stop_(opt_.stop) {}

void ChoiceStream::route(std::string_view text, Delta& out, bool final) {
  if (!opt_.split_reasoning) {
    out.content += stop_.feed(text);
    if (final) out.content += stop_.flush();
    return;
  }
  ReasoningDelta s = parser_.feed(text);
  if (final) {
    ReasoningDelta rest = parser_.finish();
    s.reasoning += rest.reasoning;
    s.content += rest.content;
  }
  out.reasoning += s.reasoning;
  // Stop strings end the answer; the thinking is not searched for them.
  out.content += stop_.feed(s.content);
  if (final) out.content += stop_.flush();
}

json ChoiceStream::logprob_entry(int32_t id, float logprob) {
  const std::string piece = text_->piece(id);
  json bytes = json::array();
  for (unsigned char c : piece) bytes.push_back(int(c));
  return {{"token", piece}, {"logprob", logprob}, {"bytes", bytes}};
}

TokenReply ChoiceStream::on_token(const TokenEvent& ev, Delta& out) {
  out.index = index_;
  TokenReply reply;
  const bool was_thinking = opt_.split_reasoning && parser_.in_reasoning();
  route(text_->feed(ev.token), out, false);
  if (was_thinking || (opt_.split_reasoning && parser_.in_reasoning())) ++reasoning_tokens_;
  if (opt_.logprobs) {
    json e = logprob_entry(ev.token, ev.logprob);
    json top = json::array();
    for (const auto& t : ev.top) top.push_back(logprob_entry(t.id, t.logprob));
    e["top_logprobs"] = top;
    out.logprobs = json::array({e});
  }
  if (stop_.stopped()) reply.stop = true;
  if (opt_.split_reasoning && opt_.reasoning_budget && !close_forced_ && parser_.in_reasoning() &&
      reasoning_tokens_ >= *opt_.reasoning_budget && !opt_.close_thinking.empty()) {
    reply.force = opt_.close_thinking;
    close_forced_ = true;
  }
  return reply;
}

void ChoiceStream::on_end(const SequenceEnd& end, Delta& out) {
  out.index = index_;
  route(text_->flush(), out, true);
  out.end = end;
  out.reasoning_tokens = reasoning_tokens_;
  out.error = end.error;
  // A stop string ends the choice like a stop token does.
  out.finish_reason = end.finish_reason == "length" ? "length" : "stop";
}

}  // namespace sputnik::server
