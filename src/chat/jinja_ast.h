#pragma once
// Syntax tree of a parsed Jinja template: expressions and statements, each with its source
// position so evaluation errors can name the line and column.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_lexer.h"
#include "chat/jinja_value.h"

namespace sputnik::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,    // value
    Name,       // name
    Attr,       // args[0] . name
    Item,       // args[0] [ args[1] ]
    Slice,      // args[0] [ args[1] : args[2] : args[3] ] (null parts allowed)
    Call,       // args[0] ( args[1..] , kwargs )
    Filter,     // args[0] | name ( args[1..], kwargs )
    Test,       // args[0] is [not] name ( args[1..] )
    Not,        // not args[0]
    Neg,        // - args[0]
    Pos,        // + args[0]
    Binary,     // args[0] op args[1]: + - * / // % ** ~
    Compare,    // args[0] ops[0] args[1] ops[1] args[2] ...: chained like Python (== != < > <= >= in notin)
    And,
    Or,
    Cond,       // args[1] if args[0] else args[2] (args[2] may be null)
    ListLit,
    TupleLit,
    DictLit,    // args alternate key, value
  };
  Kind kind;
  Pos pos;
  Value value;
  std::string name;  // Name/Attr/Filter/Test name, or Binary operator
  bool negated = false;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;  // Compare
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null: required
};

struct Stmt {
  enum class Kind {
    Text,       // text
    Print,      // exprs[0]
    If,         // exprs = conditions, bodies = branch bodies (+ else body when one longer)
    For,        // targets in exprs[0] [if exprs[1]]: bodies[0], else bodies[1]
    Set,        // targets/attr = exprs[0]
    SetBlock,   // targets[0] = rendered bodies[0]
    Macro,      // name(params): bodies[0]
    Break,
    Continue,
    With,       // targets[i] = exprs[i]; bodies[0]
    Scope,      // bodies[0] rendered in place (e.g. transformers' {% generation %})
  };
  Kind kind;
  Pos pos;
  std::string text;               // Text
  std::vector<std::string> targets;  // For/Set/With names; Set: ns attribute when attr is set
  std::string attr;               // Set: `set ns.attr = ...`
  std::vector<ExprPtr> exprs;
  std::vector<Body> bodies;
  std::vector<MacroParam> params;
  bool recursive = false;
};

}  // namespace sputnik::jinja
