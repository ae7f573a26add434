#include "tokenizer/normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/casemap.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>

#include "core/error.h"

namespace sputnik {

namespace {

void add_steps(const nlohmann::json& j, std::vector<Normalizer::Step>& steps) {
  if (j.is_null()) return;
  if (!j.is_object() || !j.contains("type")) fail("tokenizer.json: normalizer without a type: {}", j.dump());
  const std::string type = j["type"].get<std::string>();
  using S = Normalizer::Step;
  if (type == "Sequence") {
    for (const auto& n : j.at("normalizers")) add_steps(n, steps);
  } else if (type == "NFC") {
    steps.push_back(S::NFC);
  } else if (type == "NFD") {
    steps.push_back(S::NFD);
  } else if (type == "NFKC") {
    steps.push_back(S::NFKC);
  } else if (type == "NFKD") {
    steps.push_back(S::NFKD);
  } else if (type == "Lowercase") {
    steps.push_back(S::Lowercase);
  } else {
    fail("tokenizer.json: normalizer '{}' is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, "
         "Sequence)",
         type);
  }
}

const icu::Normalizer2* instance(Normalizer::Step s) {
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  switch (s) {
    case Normalizer::Step::NFC: n = icu::Normalizer2::getNFCInstance(err); break;
    case Normalizer::Step::NFD: n = icu::Normalizer2::getNFDInstance(err); break;
    case Normalizer::Step::NFKC: n = icu::Normalizer2::getNFKCInstance(err); break;
    case Normalizer::Step::NFKD: n = icu::Normalizer2::getNFKDInstance(err); break;
    default: break;
  }
  if (U_FAILURE(err) || n == nullptr) fail("ICU normalizer unavailable: {}", u_errorName(err));
  return n;
}

// Code points below U+0300 are stable under NFC and never combine with a neighbour, so text
// made only of them (no byte >= 0xCC) is already NFC.
bool below_u0300(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0xCC) return false;
  return true;
}

}  // namespace

Normalizer Normalizer::from_json(const nlohmann::json& j) {
  std::vector<Step> steps;
  add_steps(j, steps);
  return Normalizer(std::move(steps));
}

std::string_view Normalizer::apply(std::string_view text, std::string& storage) const {
  std::string_view cur = text;
  std::string tmp;
  for (Step s : steps_) {
    UErrorCode err = U_ZERO_ERROR;
    const icu::StringPiece piece(cur.data(), int32_t(cur.size()));
    tmp.clear();
    icu::StringByteSink<std::string> sink(&tmp);
    if (s == Step::Lowercase) {
      icu::CaseMap::utf8ToLower("", 0, piece, sink, nullptr, err);
    } else {
      if (s == Step::NFC && below_u0300(cur)) continue;
      const icu::Normalizer2* n = instance(s);
      if (n->isNormalizedUTF8(piece, err) && U_SUCCESS(err)) continue;
      err = U_ZERO_ERROR;
      n->normalizeUTF8(0, piece, sink, nullptr, err);
    }
    if (U_FAILURE(err)) fail("Unicode normalization failed: {}", u_errorName(err));
    if (tmp == cur) continue;
    storage.swap(tmp);
    cur = storage;
  }
  return cur;
}

}  // namespace sputnik
