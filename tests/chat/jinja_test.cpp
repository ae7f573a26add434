// Behaviour of the Jinja interpreter that the Jinja2 parity script cannot show: error messages
// with positions, rejection of unsupported constructs, resource limits on hostile templates.
// (Output parity with Python Jinja2 is checked by jinja2_parity.py.)
#include "chat/jinja.h"

#include <gtest/gtest.h>

#include "core/error.h"

using namespace sputnik;
using jinja::Template;
using json = nlohmann::ordered_json;

namespace {

std::string render(const std::string& src, const json& ctx = json::object()) {
  return Template::parse(src, "t.jinja").render(ctx);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Jinja, RendersMessagesLikeAChatTemplate) {
  json ctx = {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}, {{"role", "assistant"}, {"content", "yo"}}})},
              {"add_generation_prompt", true}};
  const char* src =
      "{%- for m in messages %}\n"
      "    {{- '<|' + m.role + '|>' + m['content'] + '\\n' }}\n"
      "{%- endfor %}\n"
      "{%- if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";
  EXPECT_EQ(render(src, ctx), "<|user|>hi\n<|assistant|>yo\n<|assistant|>");
}

TEST(Jinja, SyntaxErrorsNameLineAndColumn) {
  EXPECT_EQ(error_of([] { Template::parse("line one\n  {% if x %}\nno end", "t.jinja"); }),
            "t.jinja:3:7: unexpected end of template, expected elif or else or endif");
  EXPECT_EQ(error_of([] { Template::parse("{{ 1 +  }}", "t.jinja"); }), "t.jinja:1:9: unexpected '}}'");
  EXPECT_EQ(error_of([] { Template::parse("ab\n{{ 'unterminated }}", "t.jinja"); }),
            "t.jinja:2:4: unterminated string literal");
  EXPECT_EQ(error_of([] { Template::parse("{% endfor %}", "t.jinja"); }), "t.jinja:1:4: unknown tag 'endfor'");
}

TEST(Jinja, UnsupportedConstructsAreRejectedWithPosition) {
  EXPECT_EQ(error_of([] { Template::parse("x\n  {% include 'other.jinja' %}", "t.jinja"); }),
            "t.jinja:2:6: unsupported template construct '{% include %}'");
  EXPECT_EQ(error_of([] { Template::parse("{{ x | urlize }}", "t.jinja"); }), "t.jinja:1:8: unsupported filter 'urlize'");
  EXPECT_EQ(error_of([] { Template::parse("{{ x is prime }}", "t.jinja"); }), "t.jinja:1:9: unsupported test 'prime'");
  EXPECT_EQ(error_of([] { Template::parse("{% for x in y recursive %}{% endfor %}", "t.jinja"); }),
            "t.jinja:1:4: unsupported template construct 'recursive' loops");
  EXPECT_NE(error_of([] { Template::parse("{% break %}", "t.jinja"); }).find("outside of a loop"), std::string::npos);
}

TEST(Jinja, RuntimeErrorsNameTheExpression) {
  EXPECT_EQ(error_of([] { render("ok\n{{ raise_exception('Only user and assistant roles are supported!') }}"); }),
            "t.jinja:2:4: raise_exception: Only user and assistant roles are supported!");
  EXPECT_EQ(error_of([] { render("{{ messages[0].content.strip() }}", {{"messages", json::array({json::object()})}}); }),
            "t.jinja:1:23: UndefinedError: 'dict object' has no attribute 'content'");
  EXPECT_EQ(error_of([] { render("{{ 'a' + 1 }}"); }),
            "t.jinja:1:8: TypeError: unsupported operand type(s) for +: 'str' and 'int'");
  EXPECT_EQ(error_of([] { render("{% set x = 1 %}{% set x.y = 2 %}"); }),
            "t.jinja:1:19: cannot assign attribute on non-namespace object 'x'");
}

TEST(Jinja, UndefinedBehavesLikeJinja) {
  EXPECT_EQ(render("[{{ nope }}]{{ nope is defined }}{{ nope|length }}{% for x in nope %}x{% endfor %}"), "[]False0");
  EXPECT_EQ(render("{{ d.missing is defined }}{{ d['missing'] is none }}", {{"d", json::object()}}), "FalseFalse");
  EXPECT_EQ(render("{{ none.attr is defined }}"), "False");
}

TEST(Jinja, HostileTemplatesFailInsteadOfExhaustingResources) {
  EXPECT_NE(error_of([] { render("{% for i in range(3000) %}{% for j in range(3000) %}{% endfor %}{% endfor %}"); })
                .find("evaluation budget"),
            std::string::npos);
  EXPECT_NE(error_of([] { render("{{ 'x' * 1000000000 }}"); }).find("too large"), std::string::npos);
  EXPECT_NE(error_of([] { render("{{ range(100000000)|length }}"); }).find("range too large"), std::string::npos);
  EXPECT_NE(error_of([] { render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"); }).find("recursion"),
            std::string::npos);
  std::string deep = std::string(5000, '(') + "1" + std::string(5000, ')');
  EXPECT_NE(error_of([&] { Template::parse("{{ " + deep + " }}", "t.jinja"); }).find("nested too deeply"),
            std::string::npos);
  // A namespace that refers to itself must not leak (checked under ASan/LSan).
  EXPECT_EQ(render("{% set ns = namespace(x=1) %}{% set ns.me = ns %}{{ ns.me.me.x }}"), "1");
}

TEST(Jinja, InvalidUtf8InDataDoesNotCrash) {
  std::string bad = "a\xff\xfe{{ s|length }}{{ s[0] }}";
  EXPECT_NO_THROW(Template::parse(bad, "t.jinja").render(json{{"s", "ok"}}));
}
