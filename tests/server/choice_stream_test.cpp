// Tokens -> deltas for one choice: thinking split, stop strings, and the thinking budget that
// forces "</think>".
#include <gtest/gtest.h>

#include <map>

#include "server/choice_stream.h"

using namespace sputnik::server;

namespace {

// Token i spells kPieces[i].
const std::vector<std::string> kPieces = {"Let", " me", " think", "</think>", "\n\n", "Hi", " END", " there"};

class TableText : public TokenText {
 public:
  std::string feed(int32_t id) override { return kPieces.at(size_t(id)); }
  std::string flush() override { return ""; }
  std::string piece(int32_t id) override { return kPieces.at(size_t(id)); }
};

struct Outcome {
  std::string reasoning, content, finish;
  int64_t reasoning_tokens = 0;
  std::vector<TokenReply> replies;
};

Outcome feed(ChoiceOptions o, const std::vector<int32_t>& ids, const std::string& end_reason = "length") {
  ChoiceStream cs(0, std::make_unique<TableText>(), std::move(o));
  Outcome r;
  for (int32_t id : ids) {
    Delta d;
    TokenEvent ev;
    ev.token = id;
    r.replies.push_back(cs.on_token(ev, d));
    r.reasoning += d.reasoning;
    r.content += d.content;
    if (r.replies.back().stop) break;
  }
  Delta d;
  SequenceEnd e;
  e.finish_reason = end_reason;
  cs.on_end(e, d);
  r.reasoning += d.reasoning;
  r.content += d.content;
  r.finish = d.finish_reason;
  r.reasoning_tokens = d.reasoning_tokens;
  return r;
}

}  // namespace

TEST(ChoiceStream, SplitsThinkingAndCountsItsTokens) {
  ChoiceOptions o;
  o.style = sputnik::ReasoningStyle::PromptOpened;
  Outcome r = feed(o, {0, 1, 2, 3, 4, 5, 7});
  EXPECT_EQ(r.reasoning, "Let me think");
  EXPECT_EQ(r.content, "Hi there");
  EXPECT_EQ(r.reasoning_tokens, 4);  // Let, me, think, </think>
  EXPECT_EQ(r.finish, "length");
}

TEST(ChoiceStream, StopStringEndsTheAnswer) {
  ChoiceOptions o;
  o.style = sputnik::ReasoningStyle::PromptOpened;
  o.stop = {"END"};
  Outcome r = feed(o, {0, 3, 5, 6, 7});
  EXPECT_EQ(r.content, "Hi ");
  EXPECT_TRUE(r.replies.back().stop);
  EXPECT_EQ(r.replies.size(), 4u);
}

TEST(ChoiceStream, BudgetForcesTheClosingTag) {
  ChoiceOptions o;
  o.style = sputnik::ReasoningStyle::PromptOpened;
  o.reasoning_budget = 2;
  o.close_thinking = {3, 4};
  Outcome r = feed(o, {0, 1});
  ASSERT_EQ(r.replies.size(), 2u);
  EXPECT_TRUE(r.replies[0].force.empty());
  EXPECT_EQ(r.replies[1].force, (std::vector<int32_t>{3, 4}));
  // No budget: nothing forced.
  o.reasoning_budget.reset();
  Outcome free_run = feed(o, {0, 1, 2});
  for (auto& rep : free_run.replies) EXPECT_TRUE(rep.force.empty());
}

TEST(ChoiceStream, CompletionsHaveNoThinkingSplit) {
  ChoiceOptions o;
  o.split_reasoning = false;
  o.stop = {"\n\n"};
  Outcome r = feed(o, {0, 3, 4, 5});
  EXPECT_EQ(r.reasoning, "");
  EXPECT_EQ(r.content, "Let</think>");
  EXPECT_EQ(r.finish, "length");  // the scheduler's reason is passed through
}
