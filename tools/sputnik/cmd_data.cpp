// `sputnik data`: text or JSONL (plain documents, or chat examples with --sft) into a token shard
// (src/train/token_shard_writer.h) for `sputnik train --data`.
//
//   sputnik data -m MODEL -i FILE [FILE...] -o OUT.bin [-t N] [--format auto|text|jsonl]
//                [--split file|paragraphs|lines] [--field text]
//                [--sft [--template F.jinja] [--keep-reasoning]]
//                [--no-eos] [--add-special] [--parse-special] [--skip-bad]
//
// Documents are read in order and encoded in parallel a chunk at a time; chunk boundaries
// depend only on the input, and each chunk is written in input order, so the shard is
// byte-identical for every -t.
#include <nlohmann/json.hpp>
#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "command.h"
#include "core/error.h"
#include "core/progress_line.h"
#include "core/threads.h"
#include "tokenizer/tokenizer.h"
#include "train/sft_data.h"
#include "train/token_shard_writer.h"

namespace {

using sputnik::fail;

struct Options {
  std::string model, output, format = "auto", split = "file", field = "text", template_file;
  std::vector<std::string> inputs;
  bool sft = false, keep_reasoning = false, no_eos = false, add_special = false, parse_special = false, skip_bad = false;
  int threads = 0;
};

// One document before encoding: its text (or JSONL line) and where it came from.
struct Doc {
  std::string text;
  std::string where;  // "file:line" for error messages
  bool jsonl = false;
};

// Reads documents from the inputs in order. Counts the bytes consumed for the progress bar.
class DocReader {
 public:
  DocReader(const Options& o) : o_(o) {}

  // Next document, or nullopt at the end of the last file.
  std::optional<Doc> next() {
    for (;;) {
      if (!in_) {
        if (file_ >= o_.inputs.size()) return std::nullopt;
        open(o_.inputs[file_++]);
      }
      if (auto d = read_one()) return d;
      in_.reset();
    }
  }
  uint64_t bytes_read() const { return bytes_; }

 private:
  void open(const std::string& path) {
    in_ = std::make_unique<std::ifstream>(path, std::ios::binary);
    if (!*in_) fail("cannot open {}", path);
    path_ = path;
    line_ = 0;
    jsonl_ = o_.format == "jsonl" || (o_.format == "auto" && (path.ends_with(".jsonl") || path.ends_with(".json")));
    if (o_.sft && !jsonl_) fail("{}: --sft reads JSONL chat examples (use --format jsonl)", path);
  }

  bool getline(std::string& line) {
    if (!std::getline(*in_, line)) {
      if (in_->bad()) fail("{}: read error", path_);
      return false;
    }
    ++line_;
    bytes_ += line.size() + (in_->eof() ? 0 : 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }

  std::optional<Doc> read_one() {
    std::string line;
    if (jsonl_) {
      while (getline(line))
        if (line.find_first_not_of(" \t") != std::string::npos) return Doc{line, where(), true};
      return std::nullopt;
    }
    if (o_.split == "file") {
      std::string text((std::istreambuf_iterator<char>(*in_)), std::istreambuf_iterator<char>());
      if (in_->bad()) fail("{}: read error", path_);
      bytes_ += text.size();
      in_.reset();  // one document per file; next() opens the next one
      return Doc{std::move(text), path_, false};
    }
    if (o_.split == "lines") {
      while (getline(line))
        if (!line.empty()) return Doc{line, where(), false};
      return std::nullopt;
    }
    // paragraphs: runs of non-blank lines, joined with '\n'
    std::string para;
    size_t first = 0;
    while (getline(line)) {
      const bool blank = line.find_first_not_of(" \t") == std::string::npos;
      if (blank) {
        if (!para.empty()) return Doc{std::move(para), fmt::format("{}:{}", path_, first), false};
        continue;
      }
      if (para.empty()) first = line_;
      else para += '\n';
      para += line;
    }
    if (!para.empty()) return Doc{std::move(para), fmt::format("{}:{}", path_, first), false};
    return std::nullopt;
  }

  std::string where() const { return fmt::format("{}:{}", path_, line_); }

  const Options& o_;
  std::unique_ptr<std::ifstream> in_;
  std::string path_;
  size_t file_ = 0, line_ = 0;
  uint64_t bytes_ = 0;
  bool jsonl_ = false;
};

// Progress on stderr: a redrawn bar on a terminal, a plain line every few seconds otherwise.
// Bytes read and tokens written so far, with rates and the time left: redrawn on a terminal, a
// line every 5 s in a log.
class Progress {
 public:
  explicit Progress(uint64_t total_bytes) : total_(total_bytes), line_(5.0) {}

  void update(uint64_t bytes, uint64_t tokens, bool final = false) {
    if (!line_.due(final)) return;
    const double s = std::max(1e-9, line_.seconds());
    const double bps = double(bytes) / s, tps = double(tokens) / s;
    const double frac = total_ ? std::min(1.0, double(bytes) / double(total_)) : 1.0;
    const double eta = bps > 0 ? double(total_ - std::min(bytes, total_)) / bps : 0;
    const std::string stats = fmt::format("{:3d}% {:.1f}/{:.1f} MB  {:.2f} MB/s  {:.0f} tok/s  {} tokens  ETA {:.0f} s",
                                          int(frac * 100), double(bytes) / 1e6, double(total_) / 1e6, bps / 1e6, tps,
                                          tokens, eta);
    line_.show(line_.tty() ? sputnik::ProgressLine::bar(frac, 30) + stats : "data: " + stats, final);
  }
  double seconds() const { return line_.seconds(); }

 private:
  uint64_t total_;
  sputnik::ProgressLine line_;
};

// A document's tokens (and SFT mask) or why it was rejected.
struct Encoded {
  std::vector<uint32_t> tokens;
  std::vector<uint8_t> mask;
  std::string error;
  bool empty = false;
};

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Options>();
  app.add_option("-m,--model", o->model, "model folder, tokenizer folder, tokenizer.json or .gguf")->required();
  app.add_option("-i,--input", o->inputs, "input files, read in order")->required()->expected(1, -1);
  app.add_option("-o,--output", o->output, "output shard NAME.bin (NAME.idx, NAME.json[, NAME.mask] beside it)")
      ->required();
  app.add_option("--format", o->format, "auto (.jsonl/.json = JSONL), text or jsonl")
      ->check(CLI::IsMember({"auto", "text", "jsonl"}));
  app.add_option("--split", o->split, "text documents: one per file, per blank-line paragraph, or per line")
      ->check(CLI::IsMember({"file", "paragraphs", "lines"}));
  app.add_option("--field", o->field, "JSONL field holding the document text");
  app.add_flag("--sft", o->sft, "JSONL chat examples ({\"messages\": [...]}) rendered with the chat template; "
                                "writes NAME.mask (1 = assistant token)");
  app.add_option("--template", o->template_file, "--sft: a .jinja chat template instead of the model's");
  app.add_flag("--keep-reasoning", o->keep_reasoning,
               "--sft: train the final assistant turn's thinking even where the template drops it (DeepSeek-R1)");
  app.add_flag("--no-eos", o->no_eos, "do not end each document with the tokenizer's EOS");
  app.add_flag("--add-special", o->add_special, "add what the tokenizer's post-processor adds (BOS for DeepSeek)");
  app.add_flag("--parse-special", o->parse_special,
               "text spelling a special token (<|endoftext|>) becomes that token (default: plain text)");
  app.add_flag("--skip-bad", o->skip_bad, "count and skip malformed JSONL lines instead of stopping");
  sputnik::cli::add_threads_option(app, o->threads);
  return [o] {
    namespace fs = std::filesystem;
    uint64_t total_bytes = 0;
    for (const auto& p : o->inputs) {
      std::error_code ec;
      if (!fs::is_regular_file(p, ec)) fail("{}: no such file", p);
      total_bytes += fs::file_size(p);
    }
    const sputnik::Tokenizer tok = sputnik::load_tokenizer(o->model);
    std::optional<sputnik::ChatTemplate> tmpl;
    if (o->sft) tmpl = sputnik::load_sft_template(o->model, tok, o->template_file);
    else if (!o->template_file.empty() || o->keep_reasoning) fail("--template and --keep-reasoning are for --sft");
    sputnik::SftOptions sft_options;
    sft_options.keep_reasoning = o->keep_reasoning;
    // SFT examples end with the template's own end-of-turn token; pretraining text gets EOS.
    const int32_t eos = (o->no_eos || o->sft) ? -1 : tok.eos_id();
    const sputnik::EncodeOptions enc{.add_special = o->add_special, .parse_special = o->parse_special};

    sputnik::TokenShardWriter writer(o->output, o->sft);
    DocReader reader(*o);
    Progress progress(total_bytes);
    uint64_t skipped = 0, empty = 0;
    std::string first_skip;
    const int threads = sputnik::num_threads();

    // Chunks of whole documents, cut by count and size only (never by thread count).
    constexpr size_t kChunkDocs = 4096, kChunkBytes = 8 << 20;
    std::vector<Doc> chunk;
    std::vector<Encoded> out;
    for (bool more = true; more;) {
      chunk.clear();
      size_t bytes = 0;
      while (chunk.size() < kChunkDocs && bytes < kChunkBytes) {
        auto d = reader.next();
        if (!d) {
          more = false;
          break;
        }
        bytes += d->text.size();
        chunk.push_back(std::move(*d));
      }
      out.assign(chunk.size(), Encoded{});
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
      for (size_t i = 0; i < chunk.size(); ++i) {
        const Doc& d = chunk[i];
        Encoded& e = out[i];
        try {
          if (o->sft) {
            nlohmann::ordered_json j;
            try {
              j = nlohmann::ordered_json::parse(d.text);
            } catch (const nlohmann::json::exception& ex) {
              fail("{}: not valid JSON: {}", d.where, ex.what());
            }
            sputnik::SftExample ex = sputnik::render_sft_example(j, *tmpl, tok, sft_options, d.where);
            e.tokens = std::move(ex.tokens);
            e.mask = std::move(ex.mask);
          } else {
            std::string_view text = d.text;
            nlohmann::json j;
            if (d.jsonl) {
              try {
                j = nlohmann::json::parse(d.text);
              } catch (const nlohmann::json::exception& ex) {
                fail("{}: not valid JSON: {}", d.where, ex.what());
              }
              if (!j.is_object()) fail("{}: expected a JSON object", d.where);
              auto it = j.find(o->field);
              if (it == j.end()) fail("{}: no \"{}\" field", d.where, o->field);
              if (!it->is_string()) fail("{}: \"{}\" must be a string", d.where, o->field);
              text = it->get_ref<const std::string&>();
            }
            std::vector<int32_t> ids;
            tok.encode(text, ids, enc);
            e.tokens.assign(ids.begin(), ids.end());
          }
          if (e.tokens.empty()) e.empty = true;
          else if (eos >= 0) e.tokens.push_back(uint32_t(eos));
        } catch (const std::exception& ex) {
          e.error = ex.what();
        }
      }
      for (const Encoded& e : out) {
        if (!e.error.empty()) {
          if (!o->skip_bad) throw sputnik::Error(e.error);
          if (skipped++ == 0) first_skip = e.error;
          continue;
        }
        if (e.empty) {
          ++empty;
          continue;
        }
        writer.add_document(e.tokens, e.mask);
      }
      progress.update(reader.bytes_read(), writer.n_tokens(), !more);
    }
    if (writer.n_docs() == 0) fail("no documents with tokens in the input ({} skipped, {} empty)", skipped, empty);

    nlohmann::ordered_json meta;
    meta["tokenizer"] = tok.source();
    meta["model"] = o->model;
    meta["vocab_size"] = tok.vocab_size();
    meta["eos_id"] = tok.eos_id();
    meta["eos_appended"] = eos >= 0;
    meta["bos_id"] = tok.bos_id();
    meta["inputs"] = o->inputs;
    meta["split"] = o->sft ? "jsonl" : o->split;
    meta["parse_special"] = o->sft ? true : o->parse_special;
    meta["add_special"] = o->add_special;
    if (o->sft) {
      meta["chat_template"] = tmpl->name();
      meta["keep_reasoning"] = o->keep_reasoning;
    }
    meta["skipped"] = skipped;
    meta["empty"] = empty;
    writer.finish(meta);

    const double s = progress.seconds();
    std::printf("%s: %llu docs, %llu tokens (%llu skipped, %llu empty) from %.1f MB in %.2f s (%.2f MB/s, %.0f tok/s)\n",
                o->output.c_str(), (unsigned long long)writer.n_docs(), (unsigned long long)writer.n_tokens(),
                (unsigned long long)skipped, (unsigned long long)empty, double(total_bytes) / 1e6, s,
                double(total_bytes) / 1e6 / std::max(s, 1e-9), double(writer.n_tokens()) / std::max(s, 1e-9));
    if (skipped) std::fprintf(stderr, "first skipped: %s\n", first_skip.c_str());
    return 0;
  };
}

}  // namespace

SPUTNIK_COMMAND("data", "tokenize text or JSONL (or SFT chat examples) into a token shard for train", setup);
