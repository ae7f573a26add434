// Recursive-descent parser following Jinja2's grammar and operator precedence
// (jinja2/parser.py): condexpr > or > and > not > compare > +,- > ~ > *,/,//,% > ** > unary >
// primary with postfix and filters.
#include <set>

#include "chat/jinja.h"
#include "core/error.h"

namespace sputnik::jinja {

namespace {

constexpr int kMaxDepth = 200;  // nesting limit so hostile templates cannot exhaust the stack

class Parser {
 public:
  Parser(const std::vector<Token>& toks, std::string_view name) : t_(toks), name_(name) {}

  Body parse_all() {
    Body body = parse_body({});
    if (cur().kind != Tok::Eof) error(cur().pos, "unexpected tag");
    return body;
  }

 private:
  const Token& cur() const { return t_[i_]; }
  const Token& peek(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  void advance() {
    if (i_ + 1 < t_.size()) ++i_;
  }

  [[noreturn]] void error(Pos p, const std::string& msg) const { fail("{}:{}:{}: {}", name_, p.line, p.col, msg); }

  bool is_op(std::string_view op) const { return cur().kind == Tok::Op && cur().text == op; }
  bool is_name(std::string_view n) const { return cur().kind == Tok::Name && cur().text == n; }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    advance();
    return true;
  }
  bool skip_name(std::string_view n) {
    if (!is_name(n)) return false;
    advance();
    return true;
  }
  void expect_op(std::string_view op) {
    if (!skip_op(op)) error(cur().pos, fmt::format("expected '{}', got {}", op, describe(cur())));
  }
  std::string expect_name() {
    if (cur().kind != Tok::Name) error(cur().pos, fmt::format("expected a name, got {}", describe(cur())));
    std::string n = cur().text;
    advance();
    return n;
  }
  void expect_block_end() {
    if (cur().kind != Tok::BlockEnd) error(cur().pos, fmt::format("expected end of tag '%}}', got {}", describe(cur())));
    advance();
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::Eof: return "end of template";
      case Tok::BlockEnd: return "'%}'";
      case Tok::VarEnd: return "'}}'";
      case Tok::Data: return "text";
      default: return "'" + t.text + "'";
    }
  }

  struct DepthGuard {
    Parser& p;
    DepthGuard(Parser& parser, Pos pos) : p(parser) {
      if (++p.depth_ > kMaxDepth) p.error(pos, "template nested too deeply");
    }
    ~DepthGuard() { --p.depth_; }
  };

  // Parses statements until a block tag whose keyword is in `ends` (left unconsumed, pointing
  // at the keyword after `{%`), or the end of the template.
  Body parse_body(const std::set<std::string>& ends) {
    Body body;
    while (true) {
      const Token& tok = cur();
      if (tok.kind == Tok::Eof) {
        if (!ends.empty()) {
          std::string names;
          for (const auto& e : ends) names += (names.empty() ? "" : " or ") + e;
          error(tok.pos, fmt::format("unexpected end of template, expected {}", names));
        }
        return body;
      }
      if (tok.kind == Tok::Data) {
        auto s = new_stmt(Stmt::Kind::Text, tok.pos);
        s->text = tok.text;
        body.push_back(std::move(s));
        advance();
      } else if (tok.kind == Tok::VarBegin) {
        advance();
        auto s = new_stmt(Stmt::Kind::Print, tok.pos);
        s->exprs.push_back(parse_tuple(false));
        if (cur().kind != Tok::VarEnd) error(cur().pos, fmt::format("expected '}}}}', got {}", describe(cur())));
        advance();
        body.push_back(std::move(s));
      } else if (tok.kind == Tok::BlockBegin) {
        const Token& kw = peek();
        if (kw.kind == Tok::Name && ends.count(kw.text)) {
          advance();
          return body;
        }
        advance();
        body.push_back(parse_statement());
      } else {
        error(tok.pos, "unexpected token");
      }
    }
  }

  StmtPtr parse_statement() {
    const Token& kw = cur();
    DepthGuard guard(*this, kw.pos);
    if (kw.kind != Tok::Name) error(kw.pos, "expected a statement keyword after '{%'");
    const std::string k = kw.text;
    Pos pos = kw.pos;
    advance();
    if (k == "if") return parse_if(pos);
    if (k == "for") return parse_for(pos);
    if (k == "set") return parse_set(pos);
    if (k == "macro") return parse_macro(pos);
    if (k == "with") return parse_with(pos);
    if (k == "break" || k == "continue") {
      if (loop_depth_ == 0) error(pos, fmt::format("'{}' outside of a loop", k));
      expect_block_end();
      return new_stmt(k == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue, pos);
    }
    if (k == "generation") {
      // transformers' AssistantTracker extension: marks assistant text, renders it unchanged.
      expect_block_end();
      auto s = new_stmt(Stmt::Kind::Scope, pos);
      s->bodies.push_back(parse_body({"endgeneration"}));
      advance();
      expect_block_end();
      return s;
    }
    static const std::set<std::string> known_unsupported = {
        "extends", "include", "import", "from", "block", "call", "filter", "autoescape", "do", "trans"};
    if (known_unsupported.count(k)) error(pos, fmt::format("unsupported template construct '{{% {} %}}'", k));
    error(pos, fmt::format("unknown tag '{}'", k));
  }

  StmtPtr parse_if(Pos pos) {
    auto s = new_stmt(Stmt::Kind::If, pos);
    s->exprs.push_back(parse_tuple(false));
    expect_block_end();
    while (true) {
      s->bodies.push_back(parse_body({"elif", "else", "endif"}));
      std::string k = cur().text;
      advance();
      if (k == "elif") {
        s->exprs.push_back(parse_tuple(false));
        expect_block_end();
      } else if (k == "else") {
        expect_block_end();
        s->bodies.push_back(parse_body({"endif"}));
        advance();
        expect_block_end();
        return s;
      } else {
        expect_block_end();
        return s;
      }
    }
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    bool paren = skip_op("(");
    names.push_back(expect_name());
    while (skip_op(",")) {
      if (cur().kind != Tok::Name) break;
      names.push_back(expect_name());
    }
    if (paren) expect_op(")");
    return names;
  }

  StmtPtr parse_for(Pos pos) {
    auto s = new_stmt(Stmt::Kind::For, pos);
    s->targets = parse_targets();
    if (!skip_name("in")) error(cur().pos, "expected 'in' in for loop");
    s->exprs.push_back(parse_tuple(false, /*with_condexpr=*/false));
    s->exprs.push_back(nullptr);
    if (skip_name("if")) s->exprs[1] = parse_tuple(false);
    if (skip_name("recursive")) error(pos, "unsupported template construct 'recursive' loops");
    expect_block_end();
    ++loop_depth_;
    s->bodies.push_back(parse_body({"else", "endfor"}));
    --loop_depth_;
    std::string k = cur().text;
    advance();
    expect_block_end();
    if (k == "else") {
      // `loop` controls do not reach the else block; Jinja rejects break there too.
      int saved = loop_depth_;
      loop_depth_ = 0;
      s->bodies.push_back(parse_body({"endfor"}));
      loop_depth_ = saved;
      advance();
      expect_block_end();
    }
    return s;
  }

  StmtPtr parse_set(Pos pos) {
    if (cur().kind == Tok::Name && peek().kind == Tok::Op && peek().text == ".") {
      auto s = new_stmt(Stmt::Kind::Set, pos);
      s->targets.push_back(expect_name());
      advance();
      s->attr = expect_name();
      expect_op("=");
      s->exprs.push_back(parse_tuple(false));
      expect_block_end();
      return s;
    }
    std::vector<std::string> targets = parse_targets();
    if (skip_op("=")) {
      auto s = new_stmt(Stmt::Kind::Set, pos);
      s->targets = std::move(targets);
      s->exprs.push_back(parse_tuple(false));
      expect_block_end();
      return s;
    }
    if (targets.size() != 1) error(pos, "block set takes exactly one name");
    if (is_op("|")) error(cur().pos, "unsupported template construct: filtered block set");
    expect_block_end();
    auto s = new_stmt(Stmt::Kind::SetBlock, pos);
    s->targets = std::move(targets);
    s->bodies.push_back(parse_body({"endset"}));
    advance();
    expect_block_end();
    return s;
  }

  StmtPtr parse_macro(Pos pos) {
    auto s = new_stmt(Stmt::Kind::Macro, pos);
    s->text = expect_name();
    expect_op("(");
    while (!is_op(")")) {
      if (!s->params.empty()) expect_op(",");
      if (is_op(")")) break;
      MacroParam p;
      p.name = expect_name();
      if (skip_op("=")) p.default_value = parse_expression();
      else if (!s->params.empty() && s->params.back().default_value)
        error(cur().pos, "non-default macro argument follows default argument");
      s->params.push_back(std::move(p));
    }
    expect_op(")");
    expect_block_end();
    int saved = loop_depth_;
    loop_depth_ = 0;
    s->bodies.push_back(parse_body({"endmacro"}));
    loop_depth_ = saved;
    advance();
    expect_block_end();
    return s;
  }

  StmtPtr parse_with(Pos pos) {
    auto s = new_stmt(Stmt::Kind::With, pos);
    while (cur().kind != Tok::BlockEnd) {
      if (!s->targets.empty()) expect_op(",");
      s->targets.push_back(expect_name());
      expect_op("=");
      s->exprs.push_back(parse_expression());
    }
    expect_block_end();
    s->bodies.push_back(parse_body({"endwith"}));
    advance();
    expect_block_end();
    return s;
  }

  // ---- expressions ----

  static StmtPtr new_stmt(Stmt::Kind k, Pos p) {
    auto s = std::make_unique<Stmt>();
    s->kind = k;
    s->pos = p;
    return s;
  }

  ExprPtr make(Expr::Kind k, Pos p) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->pos = p;
    return e;
  }

  // A comma-separated list without brackets becomes a tuple ({{ a, b }}, {% set x = 1, 2 %}).
  ExprPtr parse_tuple(bool explicit_parens, bool with_condexpr = true) {
    Pos pos = cur().pos;
    std::vector<ExprPtr> items;
    bool saw_comma = false;
    while (true) {
      if (!items.empty()) {
        if (!skip_op(",")) break;
        saw_comma = true;
      }
      if (is_tuple_end(explicit_parens)) break;
      items.push_back(with_condexpr ? parse_expression() : parse_or());
    }
    if (!saw_comma) {
      if (items.empty()) {
        if (!explicit_parens) error(cur().pos, fmt::format("expected an expression, got {}", describe(cur())));
        auto e = make(Expr::Kind::TupleLit, pos);
        return e;
      }
      return std::move(items[0]);
    }
    auto e = make(Expr::Kind::TupleLit, pos);
    e->args = std::move(items);
    return e;
  }

  bool is_tuple_end(bool explicit_parens) const {
    if (cur().kind == Tok::VarEnd || cur().kind == Tok::BlockEnd || cur().kind == Tok::Eof) return true;
    if (explicit_parens && is_op(")")) return true;
    if (cur().kind == Tok::Op && cur().text == "=") return true;
    return false;
  }

  ExprPtr parse_expression() {
    DepthGuard guard(*this, cur().pos);
    ExprPtr e = parse_or();
    while (is_name("if")) {
      Pos p = cur().pos;
      advance();
      auto c = make(Expr::Kind::Cond, p);
      c->args.push_back(parse_or());
      c->args.push_back(std::move(e));
      if (skip_name("else")) c->args.push_back(parse_expression());
      else c->args.push_back(nullptr);
      e = std::move(c);
    }
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      auto e = make(Expr::Kind::Or, cur().pos);
      advance();
      e->args.push_back(std::move(left));
      e->args.push_back(parse_and());
      left = std::move(e);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      auto e = make(Expr::Kind::And, cur().pos);
      advance();
      e->args.push_back(std::move(left));
      e->args.push_back(parse_not());
      left = std::move(e);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this, cur().pos);
      auto e = make(Expr::Kind::Not, cur().pos);
      advance();
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      Pos p = cur().pos;
      if (cur().kind == Tok::Op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                    cur().text == ">" || cur().text == "<=" || cur().text == ">=")) {
        op = cur().text;
        advance();
      } else if (is_name("in")) {
        op = "in";
        advance();
      } else if (is_name("not") && peek().kind == Tok::Name && peek().text == "in") {
        op = "notin";
        advance();
        advance();
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(Expr::Kind::Compare, p);
        cmp->args.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr binary(ExprPtr left, std::string op, Pos p, ExprPtr right) {
    auto e = make(Expr::Kind::Binary, p);
    e->name = std::move(op);
    e->args.push_back(std::move(left));
    e->args.push_back(std::move(right));
    return e;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      std::string op = cur().text;
      Pos p = cur().pos;
      advance();
      left = binary(std::move(left), op, p, parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      Pos p = cur().pos;
      advance();
      left = binary(std::move(left), "~", p, parse_math2());
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      std::string op = cur().text;
      Pos p = cur().pos;
      advance();
      left = binary(std::move(left), op, p, parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      Pos p = cur().pos;
      advance();
      left = binary(std::move(left), "**", p, parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this, cur().pos);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      auto e = make(is_op("-") ? Expr::Kind::Neg : Expr::Kind::Pos, cur().pos);
      advance();
      e->args.push_back(parse_unary(false));
      node = std::move(e);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& tok = cur();
    Pos p = tok.pos;
    if (tok.kind == Tok::Name) {
      const std::string& n = tok.text;
      auto lit = make(Expr::Kind::Literal, p);
      if (n == "true" || n == "True") lit->value = Value(true);
      else if (n == "false" || n == "False") lit->value = Value(false);
      else if (n == "none" || n == "None") lit->value = Value(None{});
      else {
        auto e = make(Expr::Kind::Name, p);
        e->name = n;
        advance();
        return e;
      }
      advance();
      return lit;
    }
    if (tok.kind == Tok::String) {
      std::string s;
      while (cur().kind == Tok::String) {  // adjacent literals concatenate, as in Python
        s += cur().text;
        advance();
      }
      auto e = make(Expr::Kind::Literal, p);
      e->value = Value(std::move(s));
      return e;
    }
    if (tok.kind == Tok::Int || tok.kind == Tok::Float) {
      auto e = make(Expr::Kind::Literal, p);
      e->value = tok.kind == Tok::Int ? Value(tok.ival) : Value(tok.fval);
      advance();
      return e;
    }
    if (is_op("(")) {
      advance();
      ExprPtr e = parse_tuple(true);
      expect_op(")");
      return e;
    }
    if (is_op("[")) {
      advance();
      auto e = make(Expr::Kind::ListLit, p);
      while (!is_op("]")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("]")) break;
        e->args.push_back(parse_expression());
      }
      expect_op("]");
      return e;
    }
    if (is_op("{")) {
      advance();
      auto e = make(Expr::Kind::DictLit, p);
      while (!is_op("}")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("}")) break;
        e->args.push_back(parse_expression());
        expect_op(":");
        e->args.push_back(parse_expression());
      }
      expect_op("}");
      return e;
    }
    error(p, fmt::format("unexpected {}", describe(tok)));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".")) {
        Pos p = cur().pos;
        advance();
        if (cur().kind == Tok::Name) {
          auto e = make(Expr::Kind::Attr, p);
          e->name = cur().text;
          advance();
          e->args.push_back(std::move(node));
          node = std::move(e);
        } else if (cur().kind == Tok::Int) {
          auto e = make(Expr::Kind::Item, p);
          e->args.push_back(std::move(node));
          auto idx = make(Expr::Kind::Literal, cur().pos);
          idx->value = Value(cur().ival);
          e->args.push_back(std::move(idx));
          advance();
          node = std::move(e);
        } else {
          error(cur().pos, "expected an attribute name after '.'");
        }
      } else if (is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    Pos p = cur().pos;
    advance();
    ExprPtr parts[3];
    bool is_slice = false;
    if (!is_op(":")) parts[0] = parse_expression();
    if (skip_op(":")) {
      is_slice = true;
      if (!is_op(":") && !is_op("]")) parts[1] = parse_expression();
      if (skip_op(":") && !is_op("]")) parts[2] = parse_expression();
    }
    expect_op("]");
    if (!is_slice) {
      auto e = make(Expr::Kind::Item, p);
      e->args.push_back(std::move(node));
      e->args.push_back(std::move(parts[0]));
      return e;
    }
    auto e = make(Expr::Kind::Slice, p);
    e->args.push_back(std::move(node));
    for (auto& part : parts) e->args.push_back(std::move(part));
    return e;
  }

  ExprPtr parse_call(ExprPtr node) {
    auto e = make(Expr::Kind::Call, node->pos);
    e->args.push_back(std::move(node));
    parse_args_into(*e);
    return e;
  }

  // Parses `( a, b, k=v )` appending positional args after whatever e->args already holds.
  void parse_args_into(Expr& e) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) {
        expect_op(",");
        if (is_op(")")) break;
      }
      first = false;
      if (is_op("*") || is_op("**")) error(cur().pos, "unsupported template construct: *args / **kwargs in a call");
      if (cur().kind == Tok::Name && peek().kind == Tok::Op && peek().text == "=") {
        std::string key = cur().text;
        advance();
        advance();
        e.kwargs.emplace_back(key, parse_expression());
      } else {
        if (!e.kwargs.empty()) error(cur().pos, "positional argument follows keyword argument");
        e.args.push_back(parse_expression());
      }
    }
    expect_op(")");
  }

  std::string parse_dotted_name() {
    std::string n = expect_name();
    while (is_op(".") && peek().kind == Tok::Name) {
      advance();
      n += '.';
      n += expect_name();
    }
    return n;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        advance();
        Pos p = cur().pos;
        auto e = make(Expr::Kind::Filter, p);
        e->name = parse_dotted_name();
        if (!is_known_filter(e->name)) error(p, fmt::format("unsupported filter '{}'", e->name));
        e->args.push_back(std::move(node));
        if (is_op("(")) parse_args_into(*e);
        node = std::move(e);
      } else if (is_name("is")) {
        advance();
        bool negated = skip_name("not");
        Pos p = cur().pos;
        auto e = make(Expr::Kind::Test, p);
        e->negated = negated;
        // `is none`/`is true` etc. arrive as keywords the lexer made names of.
        e->name = parse_dotted_name();
        if (!is_known_test(e->name)) error(p, fmt::format("unsupported test '{}'", e->name));
        e->args.push_back(std::move(node));
        if (is_op("(")) {
          parse_args_into(*e);
        } else if ((cur().kind == Tok::Name || cur().kind == Tok::String || cur().kind == Tok::Int ||
                    cur().kind == Tok::Float || is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) error(cur().pos, "you cannot chain multiple tests with 'is'");
          e->args.push_back(parse_postfix(parse_primary()));
        }
        node = std::move(e);
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  const std::vector<Token>& t_;
  std::string_view name_;
  size_t i_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body parse_template(const std::vector<Token>& tokens, std::string_view name) {
  return Parser(tokens, name).parse_all();
}

}  // namespace sputnik::jinja
