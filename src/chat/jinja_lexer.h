#pragma once
// Splits a Jinja template into text and tag tokens, applying the whitespace rules exactly as
// Jinja2's lexer does with the settings transformers uses (trim_blocks, lstrip_blocks,
// keep_trailing_newline off): `{%-`/`-%}` strip, `{%+`/`+%}` opt out, comments count as blocks.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sputnik::jinja {

struct Pos {
  int line = 1;
  int col = 1;
};

enum class Tok { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
  Tok kind;
  std::string text;  // data text, name, decoded string literal, or operator spelling
  int64_t ival = 0;
  double fval = 0;
  Pos pos;
};

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

// Throws sputnik::Error naming `name` and line:column on malformed input.
std::vector<Token> lex(std::string_view source, std::string_view name, const LexOptions& options = {});

}  // namespace sputnik::jinja
