// Tree-walking evaluator. Scoping follows Jinja2: `for` bodies (each iteration), macros and
// `with` blocks get their own frame, `if` does not; `set` writes the innermost frame, so a
// value set inside a loop is gone after it (namespace() objects are how templates carry state).
#include <unordered_map>

#include "chat/jinja.h"
#include "chat/jinja_builtins.h"
#include "core/error.h"

namespace sputnik::jinja {

namespace {

// Errors that already carry a template position (so outer nodes do not prefix them again).
class TemplateError : public Error {
 public:
  using Error::Error;
};

constexpr int kMaxCallDepth = 64;
constexpr uint64_t kMaxSteps = 1'000'000;  // loop iterations + calls per render

struct Frame {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Frame> parent;
};
using FramePtr = std::shared_ptr<Frame>;

enum class Flow { Normal, Break, Continue };

class Interpreter {
 public:
  explicit Interpreter(std::string name) : name_(std::move(name)) {}

  ~Interpreter() {
    // Namespaces are the only mutable containers, so the only way to build a reference cycle
    // ({% set ns.me = ns %}); emptying them at the end frees everything.
    for (auto& ns : namespaces_) ns->items.clear();
    for (auto& f : macro_frames_) f->vars.clear();
  }

  std::string run(const Body& body, const Value& context) {
    auto root = std::make_shared<Frame>();
    macro_frames_.push_back(root);
    if (!context.is_dict()) fail("{}: render context must be a JSON object", name_);
    for (const auto& [k, v] : context.as_dict().items) root->vars[k] = v;
    std::string out;
    exec(body, root, out);
    return out;
  }

 private:
  [[noreturn]] void error_at(Pos p, const std::string& msg) const {
    throw TemplateError(fmt::format("{}:{}:{}: {}", name_, p.line, p.col, msg));
  }

  void step(Pos p) {
    if (++steps_ > kMaxSteps) error_at(p, "template exceeded its evaluation budget (runaway loop?)");
  }

  Value lookup(const std::string& name, const FramePtr& frame) const {
    for (Frame* f = frame.get(); f; f = f->parent.get()) {
      auto it = f->vars.find(name);
      if (it != f->vars.end()) return it->second;
    }
    return builtin_global(name);
  }

  // ---- statements ----

  Flow exec(const Body& body, const FramePtr& frame, std::string& out) {
    for (const auto& s : body) {
      Flow f = exec_one(*s, frame, out);
      if (f != Flow::Normal) return f;
      if (out.size() > kMaxStringBytes) error_at(s->pos, "template output too large");
    }
    return Flow::Normal;
  }

  Flow exec_one(const Stmt& s, const FramePtr& frame, std::string& out) {
    switch (s.kind) {
      case Stmt::Kind::Text: out += s.text; return Flow::Normal;
      case Stmt::Kind::Print: out += eval(*s.exprs[0], frame).str(); return Flow::Normal;
      case Stmt::Kind::If:
        for (size_t i = 0; i < s.exprs.size(); ++i)
          if (eval(*s.exprs[i], frame).truthy()) return exec(s.bodies[i], frame, out);
        if (s.bodies.size() > s.exprs.size()) return exec(s.bodies.back(), frame, out);
        return Flow::Normal;
      case Stmt::Kind::For: exec_for(s, frame, out); return Flow::Normal;
      case Stmt::Kind::Set: exec_set(s, frame); return Flow::Normal;
      case Stmt::Kind::SetBlock: {
        std::string captured;
        auto inner = std::make_shared<Frame>(Frame{{}, frame});
        exec(s.bodies[0], inner, captured);
        frame->vars[s.targets[0]] = Value(std::move(captured));
        return Flow::Normal;
      }
      case Stmt::Kind::Macro: frame->vars[s.text] = make_macro(s, frame); return Flow::Normal;
      case Stmt::Kind::Break: return Flow::Break;
      case Stmt::Kind::Continue: return Flow::Continue;
      case Stmt::Kind::With: {
        auto inner = std::make_shared<Frame>(Frame{{}, frame});
        for (size_t i = 0; i < s.targets.size(); ++i) inner->vars[s.targets[i]] = eval(*s.exprs[i], frame);
        return exec(s.bodies[0], inner, out);
      }
      case Stmt::Kind::Scope: return exec(s.bodies[0], frame, out);
    }
    return Flow::Normal;
  }

  void assign(const std::vector<std::string>& targets, const Value& v, Frame& frame, Pos p) {
    if (targets.size() == 1) {
      frame.vars[targets[0]] = v;
      return;
    }
    std::vector<Value> items;
    try {
      items = iterate(v);
    } catch (const TemplateError&) {
      throw;
    } catch (const Error& e) {
      error_at(p, e.what());
    }
    if (items.size() != targets.size())
      error_at(p, fmt::format("cannot unpack {} values into {} names", items.size(), targets.size()));
    for (size_t i = 0; i < targets.size(); ++i) frame.vars[targets[i]] = items[i];
  }

  void exec_set(const Stmt& s, const FramePtr& frame) {
    Value v = eval(*s.exprs[0], frame);
    if (s.attr.empty()) {
      assign(s.targets, v, *frame, s.pos);
      return;
    }
    Value ns = lookup(s.targets[0], frame);
    if (!ns.is_dict() || !ns.as_dict().is_namespace)
      error_at(s.pos, fmt::format("cannot assign attribute on non-namespace object '{}'", s.targets[0]));
    ns.as_dict().set(s.attr, std::move(v));
  }

  void exec_for(const Stmt& s, const FramePtr& frame, std::string& out) {
    Value seq = eval(*s.exprs[0], frame);
    std::vector<Value> items;
    try {
      items = iterate(seq);
    } catch (const Error& e) {
      error_at(s.exprs[0]->pos, e.what());
    }
    if (s.exprs[1]) {  // {% for x in xs if cond %} filters before loop.* is computed
      std::vector<Value> kept;
      for (const auto& item : items) {
        step(s.pos);
        auto probe = std::make_shared<Frame>(Frame{{}, frame});
        assign(s.targets, item, *probe, s.pos);
        if (eval(*s.exprs[1], probe).truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) {
      if (s.bodies.size() > 1) exec(s.bodies[1], frame, out);
      return;
    }
    const int64_t n = int64_t(items.size());
    LoopState loop = make_loop();
    for (int64_t i = 0; i < n; ++i) {
      step(s.pos);
      auto iter = std::make_shared<Frame>(Frame{{}, frame});
      assign(s.targets, items[size_t(i)], *iter, s.pos);
      advance_loop(loop, items, i);
      iter->vars["loop"] = loop.object;
      Flow f = exec(s.bodies[0], iter, out);
      if (f == Flow::Break) break;
    }
  }

  // One loop object per loop, advanced in place each iteration (as Jinja's LoopContext is).
  struct LoopState {
    Value object = Value::dict();
    std::shared_ptr<int64_t> index = std::make_shared<int64_t>(0);
  };

  LoopState make_loop() {
    LoopState st;
    Dict& d = st.object.as_dict();
    for (const char* k : {"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0",
                          "previtem", "nextitem"})
      d.items.emplace_back(k, Value());
    std::weak_ptr<int64_t> idx = st.index;
    d.items.emplace_back("cycle", Value(std::make_shared<Callable>(Callable{"cycle", [idx](const CallArgs& a) {
                           if (a.positional.empty()) fail("TypeError: no items for cycling given");
                           auto i = idx.lock();
                           return a.positional[size_t(i ? *i : 0) % a.positional.size()];
                         }})));
    return st;
  }

  static void advance_loop(LoopState& st, const std::vector<Value>& items, int64_t i) {
    const int64_t n = int64_t(items.size());
    *st.index = i;
    auto& v = st.object.as_dict().items;
    v[0].second = Value(i + 1);
    v[1].second = Value(i);
    v[2].second = Value(n - i);
    v[3].second = Value(n - i - 1);
    v[4].second = Value(i == 0);
    v[5].second = Value(i == n - 1);
    v[6].second = Value(n);
    v[7].second = Value(int64_t(1));
    v[8].second = Value(int64_t(0));
    v[9].second = i > 0 ? items[size_t(i - 1)] : Value::undefined("there is no previous item");
    v[10].second = i + 1 < n ? items[size_t(i + 1)] : Value::undefined("there is no next item");
  }

  Value make_macro(const Stmt& s, const FramePtr& frame) {
    const Stmt* def = &s;
    std::weak_ptr<Frame> defining = frame;
    std::string name = s.text;
    return Value(std::make_shared<Callable>(Callable{name, [this, def, defining, name](const CallArgs& a) {
      if (++call_depth_ > kMaxCallDepth) {
        --call_depth_;
        error_at(def->pos, "macro recursion too deep");
      }
      struct Depth {
        int& d;
        ~Depth() { --d; }
      } guard{call_depth_};
      FramePtr parent = defining.lock();
      if (!parent) parent = macro_frames_.front();
      auto f = std::make_shared<Frame>(Frame{{}, parent});
      const auto& params = def->params;
      if (a.positional.size() > params.size())
        fail("TypeError: macro '{}' takes not more than {} argument(s)", name, params.size());
      for (size_t i = 0; i < params.size(); ++i) {
        if (i < a.positional.size()) {
          f->vars[params[i].name] = a.positional[i];
        } else if (const Value* kw = a.kw(params[i].name)) {
          f->vars[params[i].name] = *kw;
        } else if (params[i].default_value) {
          f->vars[params[i].name] = eval(*params[i].default_value, f);
        } else {
          f->vars[params[i].name] = Value::undefined(fmt::format("parameter '{}' was not provided", params[i].name));
        }
      }
      for (const auto& [k, v] : a.keyword) {
        bool known = false;
        for (const auto& p : params) known |= p.name == k;
        if (!known) fail("TypeError: macro '{}' has no argument '{}'", name, k);
      }
      std::string out;
      exec(def->bodies[0], f, out);
      return Value(std::move(out));
    }}));
  }

  // ---- expressions ----

  Value eval(const Expr& e, const FramePtr& frame) {
    try {
      return eval_inner(e, frame);
    } catch (const TemplateError&) {
      throw;
    } catch (const Error& err) {
      error_at(e.pos, err.what());
    }
  }

  CallArgs eval_args(const Expr& e, size_t first, const FramePtr& frame) {
    CallArgs a;
    for (size_t i = first; i < e.args.size(); ++i) a.positional.push_back(eval(*e.args[i], frame));
    for (const auto& [k, v] : e.kwargs) a.keyword.emplace_back(k, eval(*v, frame));
    return a;
  }

  Value eval_inner(const Expr& e, const FramePtr& frame) {
    switch (e.kind) {
      case Expr::Kind::Literal: return e.value;
      case Expr::Kind::Name: return lookup(e.name, frame);
      case Expr::Kind::Attr: return get_attr(eval(*e.args[0], frame), e.name);
      case Expr::Kind::Item: return get_item(eval(*e.args[0], frame), eval(*e.args[1], frame));
      case Expr::Kind::Slice: {
        Value obj = eval(*e.args[0], frame);
        Value parts[3];
        for (int i = 0; i < 3; ++i)
          if (e.args[size_t(i) + 1]) parts[i] = eval(*e.args[size_t(i) + 1], frame);
        return get_slice(obj, parts[0], parts[1], parts[2]);
      }
      case Expr::Kind::Call: {
        Value fn = eval(*e.args[0], frame);
        CallArgs a = eval_args(e, 1, frame);
        if (fn.is_undefined()) undefined_error(fn);
        if (!fn.is_callable()) fail("TypeError: '{}' object is not callable", fn.type_name());
        step(e.pos);
        Value r = fn.as_callable().fn(a);
        if (r.is_dict() && r.as_dict().is_namespace) namespaces_.push_back(r.dict_ptr());
        return r;
      }
      case Expr::Kind::Filter: {
        Value in = eval(*e.args[0], frame);
        CallArgs a = eval_args(e, 1, frame);
        return apply_filter(e.name, in, a);
      }
      case Expr::Kind::Test: {
        Value in = eval(*e.args[0], frame);
        CallArgs a = eval_args(e, 1, frame);
        return Value(apply_test(e.name, in, a) != e.negated);
      }
      case Expr::Kind::Not: return Value(!eval(*e.args[0], frame).truthy());
      case Expr::Kind::Neg: return negate(eval(*e.args[0], frame));
      case Expr::Kind::Pos: {
        Value v = eval(*e.args[0], frame);
        if (!v.is_number()) fail("TypeError: bad operand type for unary +: '{}'", v.type_name());
        return v.is_bool() ? Value(int64_t(v.as_bool())) : v;
      }
      case Expr::Kind::Binary: return binary_op(e.name, eval(*e.args[0], frame), eval(*e.args[1], frame));
      case Expr::Kind::Compare: {
        // a < b < c means (a < b) and (b < c), each operand evaluated once.
        Value left = eval(*e.args[0], frame);
        for (size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.args[i + 1], frame);
          if (!binary_op(e.ops[i], left, right).truthy()) return Value(false);
          left = std::move(right);
        }
        return Value(true);
      }
      case Expr::Kind::And: {
        Value l = eval(*e.args[0], frame);
        return l.truthy() ? eval(*e.args[1], frame) : l;
      }
      case Expr::Kind::Or: {
        Value l = eval(*e.args[0], frame);
        return l.truthy() ? l : eval(*e.args[1], frame);
      }
      case Expr::Kind::Cond:
        if (eval(*e.args[0], frame).truthy()) return eval(*e.args[1], frame);
        if (e.args[2]) return eval(*e.args[2], frame);
        return Value::undefined("the inline if-expression evaluated to false and no else section was defined");
      case Expr::Kind::ListLit:
      case Expr::Kind::TupleLit: {
        std::vector<Value> items;
        for (const auto& a : e.args) items.push_back(eval(*a, frame));
        return Value::list(std::move(items), e.kind == Expr::Kind::TupleLit);
      }
      case Expr::Kind::DictLit: {
        Value d = Value::dict();
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          Value k = eval(*e.args[i], frame);
          if (!k.is_string()) fail("unsupported template construct: dict literal with a non-string key");
          d.as_dict().set(k.as_string(), eval(*e.args[i + 1], frame));
        }
        return d;
      }
    }
    fail("internal: unknown expression kind");
  }

  std::string name_;
  uint64_t steps_ = 0;
  int call_depth_ = 0;
  std::vector<Value::DictPtr> namespaces_;
  std::vector<FramePtr> macro_frames_;
};

}  // namespace

Template Template::parse(std::string_view source, std::string name) {
  Template t;
  t.name_ = std::move(name);
  std::vector<Token> tokens = lex(source, t.name_);
  t.body_ = std::make_shared<const Body>(parse_template(tokens, t.name_));
  return t;
}

std::string Template::render(const Value& context) const {
  if (!body_) fail("render: template was not parsed");
  Interpreter interp(name_);
  return interp.run(*body_, context);
}

std::string Template::render(const nlohmann::ordered_json& context) const {
  if (!context.is_object()) fail("{}: render context must be a JSON object", name_);
  return render(Value::from_json(context));
}

}  // namespace sputnik::jinja
