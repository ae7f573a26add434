#pragma once
// A Jinja2 interpreter for the subset of the language that Hugging Face chat templates use,
// configured as transformers configures Jinja2 (sandboxed, trim_blocks, lstrip_blocks, loop
// controls, a tojson that keeps non-ASCII text, raise_exception). Output is meant to be
// byte-identical to Python Jinja2; constructs outside the subset fail at parse time with an
// Error naming the template position rather than rendering something different.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "chat/jinja_ast.h"
#include "chat/jinja_value.h"

namespace sputnik::jinja {

class Template {
 public:
  // Throws sputnik::Error "<name>:<line>:<col>: ..." on syntax errors or unsupported constructs.
  static Template parse(std::string_view source, std::string name = "template");

  // `context` must be a JSON object; its keys become template variables. Errors raised while
  // rendering (undefined attribute of undefined, raise_exception, type errors) throw Error.
  std::string render(const nlohmann::ordered_json& context) const;
  std::string render(const Value& context) const;

  const std::string& name() const { return name_; }

 private:
  std::shared_ptr<const Body> body_;
  std::string name_;
};

// Parser entry point (jinja_parser.cpp).
Body parse_template(const std::vector<Token>& tokens, std::string_view name);

// Filter and test names the evaluator implements (jinja_builtins.cpp), checked at parse time.
bool is_known_filter(std::string_view name);
bool is_known_test(std::string_view name);

}  // namespace sputnik::jinja
