#include "tokenizer/tokenizer.h"

#include <deque>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer_data.h"
#include "tokenizer/utf8.h"

namespace sputnik {

Tokenizer TokenizerBuilder::build() {
  auto d = std::make_shared<TokenizerData>();
  d->source = source;
  if (!pre_tokenizer.has_byte_level())
    fail("{}: only byte-level BPE tokenizers are supported (no ByteLevel pre-tokenizer)", source);
  try {
    d->model = std::make_unique<BpeModel>(vocab, merges, ignore_merges);
  } catch (const Error& e) {
    fail("{}: {}", source, e.what());
  }
  d->normalizer = std::move(normalizer);
  d->pre_tokenizer = std::move(pre_tokenizer);
  d->added = std::move(added);
  d->prefix = std::move(prefix);
  d->suffix = std::move(suffix);
  d->bos = bos;
  d->eos = eos;

  int32_t max_id = d->model->max_id();
  for (const AddedToken& t : d->added) {
    if (t.id < 0) fail("{}: added token '{}' has a negative id", source, t.content);
    if (t.content.empty()) fail("{}: added token {} has empty content", source, t.id);
    if (!utf8::is_valid(t.content)) fail("{}: added token {} is not valid UTF-8", source, t.id);
    max_id = std::max(max_id, t.id);
  }
  d->bytes = StringTable(size_t(max_id + 1));
  d->flags.assign(size_t(max_id + 1), 0);
  std::string decoded;
  for (int32_t id = 0; id <= d->model->max_id(); ++id) {
    const std::string_view piece = d->model->piece(id);
    if (piece.empty()) continue;
    d->flags[size_t(id)] = TokenizerData::kKnown;
    decoded.clear();
    d->bytes.add(id, byte_level::decode(piece, decoded) ? std::string_view(decoded) : piece);
  }
  std::vector<const AddedToken*> raw, norm;
  std::vector<std::string> raw_pat, norm_pat;
  for (const AddedToken& t : d->added) {
    d->added_by_content[t.content] = t.id;
    // HF decodes a normalized token from its normalized form, through the ByteLevel decoder
    // like any token (so "été" comes back as the bytes E9 74 E9, exactly as HF does).
    std::string form = t.content;
    if (t.normalized) {
      std::string storage;
      form = std::string(d->normalizer.apply(t.content, storage));
      norm.push_back(&t);
      norm_pat.push_back(form);
    } else {
      raw.push_back(&t);
      raw_pat.push_back(t.content);
    }
    decoded.clear();
    d->bytes.add(t.id, byte_level::decode(form, decoded) ? std::string_view(decoded) : std::string_view(form));
    d->flags[size_t(t.id)] = TokenizerData::kKnown;
  }
  // HF skips by content: any id whose token string is a special token's content is special.
  for (const AddedToken& t : d->added) {
    if (!t.special) continue;
    d->flags[size_t(t.id)] |= TokenizerData::kSpecial;
    const int32_t base = d->model->find(t.content);
    if (base >= 0) d->flags[size_t(base)] |= TokenizerData::kSpecial;
  }
  d->raw_matcher.build(raw, raw_pat);
  d->normalized_matcher.build(norm, norm_pat);
  for (int32_t id : d->prefix)
    if (id < 0 || id > max_id) fail("{}: post-processor token id {} is out of range", source, id);
  for (int32_t id : d->suffix)
    if (id < 0 || id > max_id) fail("{}: post-processor token id {} is out of range", source, id);
  return Tokenizer(std::move(d));
}

namespace {

struct EncodeScratch {
  std::vector<Segment> outer, inner;
  std::vector<std::string_view> words;
  std::deque<std::string> arena;
};

}  // namespace

std::vector<int32_t> Tokenizer::encode(std::string_view text, EncodeOptions options) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  encode(text, out, options);
  return out;
}

void Tokenizer::encode(std::string_view input, std::vector<int32_t>& out, EncodeOptions options) const {
  const TokenizerData& d = *d_;
  std::string fixed;
  std::string_view text = input;
  if (!utf8::is_valid(input)) {
    fixed = utf8::lossy(input);
    text = fixed;
  }
  thread_local EncodeScratch s;
  s.outer.clear();
  s.arena.clear();
  const bool parse_added = options.parse_special;
  if (options.add_special) out.insert(out.end(), d.prefix.begin(), d.prefix.end());

  auto tokenize_text = [&](std::string_view piece) {
    s.words.clear();
    d.pre_tokenizer.split(piece, s.words, s.arena);
    for (std::string_view w : s.words) d.model->encode_word(w, out);
  };

  if (parse_added) {
    d.raw_matcher.split(text, s.outer);
  } else if (!text.empty()) {
    s.outer.push_back({0, text.size(), -1});
  }
  for (const Segment& seg : s.outer) {
    if (seg.id >= 0) {
      out.push_back(seg.id);
      continue;
    }
    std::string_view piece = text.substr(seg.begin, seg.end - seg.begin);
    if (!d.normalizer.empty()) {
      s.arena.emplace_back();
      piece = d.normalizer.apply(piece, s.arena.back());
    }
    if (d.normalized_matcher.empty() || !parse_added) {
      tokenize_text(piece);
      continue;
    }
    s.inner.clear();
    d.normalized_matcher.split(piece, s.inner);
    for (const Segment& in : s.inner) {
      if (in.id >= 0)
        out.push_back(in.id);
      else
        tokenize_text(piece.substr(in.begin, in.end - in.begin));
    }
  }
  if (options.add_special) out.insert(out.end(), d.suffix.begin(), d.suffix.end());
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  const TokenizerData& d = *d_;
  std::string bytes;
  for (int32_t id : ids) {
    if (id < 0 || size_t(id) >= d.flags.size()) continue;
    const uint8_t f = d.flags[size_t(id)];
    if (!(f & TokenizerData::kKnown)) continue;
    if (skip_special && (f & TokenizerData::kSpecial)) continue;
    bytes += d.bytes.at(id);
  }
  if (utf8::is_valid(bytes)) return bytes;
  return utf8::lossy(bytes);
}

std::string_view Tokenizer::token_to_piece(int32_t id) const { return d_->bytes.at(id); }

int32_t Tokenizer::vocab_size() const { return int32_t(d_->bytes.ids()); }
int32_t Tokenizer::bos_id() const { return d_->bos; }
int32_t Tokenizer::eos_id() const { return d_->eos; }
const std::string& Tokenizer::source() const { return d_->source; }

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && size_t(id) < d_->flags.size() && (d_->flags[size_t(id)] & TokenizerData::kSpecial);
}

int32_t Tokenizer::token_id(std::string_view token) const {
  auto it = d_->added_by_content.find(std::string(token));
  if (it != d_->added_by_content.end()) return it->second;
  const int32_t id = d_->model->find(token);
  if (id >= 0) return id;
  return d_->model->find(byte_level::encode(token));
}

std::string StreamingDecoder::feed(int32_t id) {
  if (skip_special_ && tok_.is_special(id)) return {};
  pending_ += tok_.token_to_piece(id);
  std::string out;
  const size_t used = utf8::append_lossy(out, pending_, false);
  pending_.erase(0, used);
  return out;
}

std::string StreamingDecoder::flush() {
  std::string out = utf8::lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace sputnik
