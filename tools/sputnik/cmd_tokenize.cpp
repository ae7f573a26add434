// `sputnik tokenize` / `sputnik detokenize`: the model's tokenizer on the command line.
//   sputnik tokenize -m MODEL --jsonl FILE [--add-special] [--no-parse-special]
//       each FILE line is a JSON string; prints one JSON array of ids per line
//   sputnik detokenize -m MODEL --ids 1,2,3 | --jsonl FILE [--skip-special]
//       FILE lines are JSON arrays of ids; prints one JSON string per line (--ids: raw text)
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "command.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace {

struct Options {
  std::string model, jsonl, ids;
  bool add_special = false, no_parse_special = false, skip_special = false;
};

// Calls fn(line_number, json) for each non-empty line of `path` ("-" = stdin).
template <typename Fn>
void for_each_json_line(const std::string& path, Fn&& fn) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) sputnik::fail("cannot open {}", path);
    in = &file;
  }
  std::string line;
  for (size_t n = 1; std::getline(*in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      sputnik::fail("{}:{}: not valid JSON: {}", path, n, e.what());
    }
    fn(n, j);
  }
}

std::function<int()> setup_tokenize(CLI::App& app) {
  auto o = std::make_shared<Options>();
  app.add_option("-m,--model", o->model, "model folder, tokenizer folder, tokenizer.json or .gguf")->required();
  app.add_option("--jsonl", o->jsonl, "file of JSON strings, one per line (- for stdin)")->required();
  app.add_flag("--add-special", o->add_special, "add BOS/EOS as the tokenizer's post-processor does");
  app.add_flag("--no-parse-special", o->no_parse_special, "tokenize special-token text as plain text");
  return [o] {
    const sputnik::Tokenizer tok = sputnik::load_tokenizer(o->model);
    const sputnik::EncodeOptions opt{.add_special = o->add_special, .parse_special = !o->no_parse_special};
    std::vector<int32_t> ids;
    for_each_json_line(o->jsonl, [&](size_t n, const nlohmann::json& j) {
      if (!j.is_string()) sputnik::fail("{}:{}: expected a JSON string", o->jsonl, n);
      ids.clear();
      tok.encode(j.get_ref<const std::string&>(), ids, opt);
      std::string out = "[";
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(ids[i]);
      }
      out += "]\n";
      std::fwrite(out.data(), 1, out.size(), stdout);
    });
    return 0;
  };
}

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < s.size()) {
    size_t end = s.find(',', i);
    if (end == std::string::npos) end = s.size();
    const std::string item = s.substr(i, end - i);
    try {
      size_t used = 0;
      const long v = std::stol(item, &used);
      if (used != item.size() || v < INT32_MIN || v > INT32_MAX) throw std::invalid_argument(item);
      ids.push_back(int32_t(v));
    } catch (const std::exception&) {
      sputnik::fail("--ids: '{}' is not a token id", item);
    }
    i = end + 1;
  }
  return ids;
}

std::function<int()> setup_detokenize(CLI::App& app) {
  auto o = std::make_shared<Options>();
  app.add_option("-m,--model", o->model, "model folder, tokenizer folder, tokenizer.json or .gguf")->required();
  auto* ids = app.add_option("--ids", o->ids, "comma-separated token ids; prints the text");
  auto* jsonl = app.add_option("--jsonl", o->jsonl, "file of JSON arrays of ids; prints one JSON string per line");
  ids->excludes(jsonl);
  app.add_flag("--skip-special", o->skip_special, "leave special tokens out");
  return [o] {
    if (o->ids.empty() && o->jsonl.empty()) sputnik::fail("give --ids or --jsonl");
    const sputnik::Tokenizer tok = sputnik::load_tokenizer(o->model);
    if (!o->ids.empty()) {
      const std::string text = tok.decode(parse_ids(o->ids), o->skip_special);
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fputc('\n', stdout);
      return 0;
    }
    for_each_json_line(o->jsonl, [&](size_t n, const nlohmann::json& j) {
      if (!j.is_array()) sputnik::fail("{}:{}: expected a JSON array of ids", o->jsonl, n);
      std::vector<int32_t> v;
      for (const auto& x : j) {
        if (!x.is_number_integer()) sputnik::fail("{}:{}: ids must be integers", o->jsonl, n);
        v.push_back(x.get<int32_t>());
      }
      const std::string line = nlohmann::json(tok.decode(v, o->skip_special)).dump() + "\n";
      std::fwrite(line.data(), 1, line.size(), stdout);
    });
    return 0;
  };
}

}  // namespace

SPUTNIK_COMMAND("tokenize", "text (JSON lines) to token ids with the model's tokenizer", setup_tokenize);
SPUTNIK_COMMAND("detokenize", "token ids back to text with the model's tokenizer", setup_detokenize);
