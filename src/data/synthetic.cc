#include "data/synthetic.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "data/rng.h"

namespace drt {

SyntheticTask parse_synthetic_task(const std::string& name) {
  if (name == "passkey") return SyntheticTask::kPasskey;
  if (name == "multikey") return SyntheticTask::kMultikey;
  if (name == "multihop") return SyntheticTask::kMultihop;
  if (name == "copy") return SyntheticTask::kCopy;
  if (name == "copy-letters") return SyntheticTask::kCopyLetters;
  throw Error(str_cat("unknown synthetic task '", name,
                      "' (expected passkey, multikey, multihop, copy or copy-letters)"));
}

std::string to_string(SyntheticTask task) {
  switch (task) {
    case SyntheticTask::kPasskey: return "passkey";
    case SyntheticTask::kMultikey: return "multikey";
    case SyntheticTask::kMultihop: return "multihop";
    case SyntheticTask::kCopy: return "copy";
    case SyntheticTask::kCopyLetters: return "copy-letters";
  }
  return "?";
}

std::string passkey_filler_text() {
  return "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. ";
}

namespace {

// Key words of multikey and multihop; each is encoded with the text around it.
constexpr const char* kKeyWords[] = {"Alpha",  "Bravo",   "Charlie", "Delta",  "Echo",    "Foxtrot", "Golf",
                                     "Hotel",  "India",   "Juliett", "Kilo",   "Lima",    "Mike",    "November",
                                     "Oscar",  "Papa",    "Quebec",  "Romeo",  "Sierra",  "Tango",   "Uniform",
                                     "Victor", "Whiskey", "Xray",    "Yankee", "Zulu"};
constexpr int64_t kKeyWordCount = sizeof(kKeyWords) / sizeof(kKeyWords[0]);

// The ten one-token digits and what separates "is:" from the first of them.
struct Digits {
  std::vector<int64_t> ids = std::vector<int64_t>(10);
  std::string after_colon;  // "" when the digits carry their own space, else " "
};

Digits find_digits(const Tokenizer& tokenizer) {
  for (const char* prefix : {" ", ""}) {
    Digits digits;
    digits.after_colon = *prefix ? "" : " ";
    bool all_single = true;
    for (int d = 0; d < 10 && all_single; ++d) {
      const std::vector<int64_t> ids = tokenizer.encode(prefix + std::to_string(d));
      all_single = ids.size() == 1;
      if (all_single) digits.ids[d] = ids[0];
    }
    if (all_single) return digits;
  }
  throw Error(str_cat("the ", tokenizer.spec(), " tokenizer has no one-token digits (neither \" 0\"..\" 9\" nor ",
                      "\"0\"..\"9\"), which the synthetic tasks' answers need"));
}

std::vector<int64_t> concat(std::initializer_list<const std::vector<int64_t>*> parts) {
  std::vector<int64_t> out;
  for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

double uniform01(SplitMix64& rng) { return static_cast<double>(rng.next() >> 11) * 0x1.0p-53; }

struct Needle {
  std::vector<int64_t> tokens;
  double depth;
  bool holds_answer;
};

void check_options(const std::vector<int64_t>& haystack, const SyntheticOptions& o) {
  DRT_CHECK(o.chunk_size > 0, "synthetic task: chunk size ", o.chunk_size, " must be positive");
  DRT_CHECK(o.length > 0 && o.length % o.chunk_size == 0, "synthetic task: length ", o.length,
            " must be a positive multiple of the chunk size ", o.chunk_size);
  DRT_CHECK(o.depth >= 0 && o.depth <= 1, "synthetic task: depth ", o.depth, " is not in [0, 1]");
  DRT_CHECK(o.hop_depth >= 0 && o.hop_depth <= 1, "synthetic task: hop depth ", o.hop_depth, " is not in [0, 1]");
  DRT_CHECK(o.answer_length >= 1, "synthetic task: answer length ", o.answer_length, " must be at least 1");
  DRT_CHECK(!haystack.empty(), "synthetic task: the haystack is empty");
  DRT_CHECK(o.decoys >= 0, "synthetic task: decoys ", o.decoys, " must be 0 or positive");
}

// Fills the body with haystack tokens around the needles (each at its depth, in depth
// order), appends question + answer, and builds the loss mask.
SyntheticSample assemble(const Tokenizer& tokenizer, const std::vector<int64_t>& haystack, const SyntheticOptions& o,
                         std::vector<Needle> needles, const std::vector<int64_t>& question,
                         const std::vector<int64_t>& answer, SplitMix64& rng) {
  const auto tail = static_cast<int64_t>(question.size() + answer.size());
  DRT_CHECK(tail <= o.chunk_size, "synthetic task: question + answer take ", tail,
            " tokens, more than one chunk (S = ", o.chunk_size, "); use a larger chunk size");
  const int64_t body = o.length - tail;
  int64_t needle_tokens = 0;
  for (const auto& n : needles) needle_tokens += static_cast<int64_t>(n.tokens.size());
  DRT_CHECK(needle_tokens <= body, "synthetic task: length ", o.length, " cannot hold ", needle_tokens,
            " needle tokens plus a ", tail, "-token question and answer");
  const int64_t filler = body - needle_tokens;

  std::stable_sort(needles.begin(), needles.end(), [](const Needle& a, const Needle& b) { return a.depth < b.depth; });
  SyntheticSample s;
  s.tokens.reserve(o.length);
  const auto hay = static_cast<int64_t>(haystack.size());
  int64_t hay_pos = static_cast<int64_t>(rng.below(hay));
  const bool overlay = o.haystack_offset >= 0;
  int64_t filler_done = 0;
  auto add_filler = [&](int64_t until) {
    for (; filler_done < until; ++filler_done) {
      // Overlaid: the haystack token of this very position (the needles hid the others).
      if (overlay) hay_pos = (o.haystack_offset + static_cast<int64_t>(s.tokens.size())) % hay;
      const int64_t id = haystack[hay_pos];
      DRT_CHECK(id >= 0 && id < tokenizer.vocab_size(), "synthetic task: haystack token ", hay_pos, " is id ", id,
                ", outside the ", tokenizer.spec(), " vocabulary (", tokenizer.vocab_size(), ")");
      s.tokens.push_back(id);
      hay_pos = (hay_pos + 1) % hay;
    }
  };
  for (const auto& n : needles) {
    int64_t until = std::llround(n.depth * static_cast<double>(filler));
    if ((o.align_needle || o.split_needle) && n.holds_answer) {
      // The anchor (the needle's first token, or for a split needle a token drawn from its
      // first through its answer's first) moved to a chunk start: down if the filler before
      // it allows, else up if the filler after it does (else it stays where it is). A split
      // needle's cut is drawn because evaluations cut the cue wherever their lengths put it
      // (the grid's depth 0.25 starts the chunk at the space before the digits). It is the
      // sample's last draw: the rest of the sample does not depend on it.
      int64_t anchor = 0;
      if (!o.align_needle) {
        const auto at = std::search(n.tokens.begin(), n.tokens.end(), answer.begin(), answer.end());
        if (at != n.tokens.end()) anchor = at - n.tokens.begin();
        anchor -= static_cast<int64_t>(rng.below(static_cast<uint64_t>(anchor) + 1));
      }
      const auto here = static_cast<int64_t>(s.tokens.size()) - filler_done;  // needle tokens so far
      const int64_t start = here + until + anchor, down = start / o.chunk_size * o.chunk_size - anchor;
      if (down - here >= filler_done) until = down - here;
      else if (down + o.chunk_size - here <= filler) until = down + o.chunk_size - here;
    }
    add_filler(until);
    if (n.holds_answer) s.needle_pos = static_cast<int64_t>(s.tokens.size());
    s.tokens.insert(s.tokens.end(), n.tokens.begin(), n.tokens.end());
  }
  add_filler(filler);
  s.tokens.insert(s.tokens.end(), question.begin(), question.end());
  s.tokens.insert(s.tokens.end(), answer.begin(), answer.end());
  s.answer_pos = o.length - static_cast<int64_t>(answer.size());
  if (o.align_needle) {
    // The tail moves to the last chunk's start (the filler it displaces follows the
    // answer, where no target sees it), so both ends of the copy sit at fixed places in
    // their chunks.
    const int64_t last = o.length - o.chunk_size;
    std::rotate(s.tokens.begin() + last, s.tokens.end() - tail, s.tokens.end());
    s.answer_pos = last + tail - static_cast<int64_t>(answer.size());
  }
  s.loss_mask.assign(o.length, 0);
  std::fill_n(s.loss_mask.begin() + s.answer_pos, answer.size(), 1);
  s.answer = answer;
  return s;
}

// How often `answer` occurs in tokens[0, end).
int64_t count_occurrences(const std::vector<int64_t>& tokens, int64_t end, const std::vector<int64_t>& answer) {
  int64_t count = 0;
  auto first = tokens.begin(), last = tokens.begin() + end;
  while ((first = std::search(first, last, answer.begin(), answer.end())) != last) {
    ++count;
    ++first;
  }
  return count;
}

// Draws samples from `draw` until the answer occurs exactly once before the tail (the
// filler may hold digit runs of its own). Deterministic: the retries come from `rng`.
template <typename Draw>
SyntheticSample draw_unique(const SyntheticOptions& o, SplitMix64& rng, Draw draw) {
  constexpr int kAttempts = 100;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    SyntheticSample s = draw(rng);
    if (count_occurrences(s.tokens, s.answer_pos, s.answer) == 1) return s;
  }
  throw Error(str_cat("synthetic task: no answer of ", o.answer_length, " digits was unique in the haystack after ",
                      kAttempts, " draws (seed ", o.seed, "); use a longer answer"));
}

// `length` tokens drawn uniformly from `symbols` (the digits' ids, or the letters').
std::vector<int64_t> draw_answer(const std::vector<int64_t>& symbols, int64_t length, SplitMix64& rng) {
  std::vector<int64_t> answer(length);
  for (auto& a : answer) a = symbols[rng.below(symbols.size())];
  return answer;
}

// The 26 lowercase letters as token ids, each of which must be one token ("a" … "z").
std::vector<int64_t> find_letters(const Tokenizer& tokenizer) {
  std::vector<int64_t> letters;
  for (char c = 'a'; c <= 'z'; ++c) {
    const std::vector<int64_t> ids = tokenizer.encode(std::string(1, c));
    DRT_CHECK(ids.size() == 1, "copy-letters: the ", tokenizer.spec(), " tokenizer encodes \"", std::string(1, c),
              "\" as ", ids.size(), " tokens; the task needs one-token letters");
    letters.push_back(ids[0]);
  }
  return letters;
}

// `count` distinct key words.
std::vector<std::string> draw_keys(int64_t count, SplitMix64& rng) {
  std::vector<int64_t> order(kKeyWordCount);
  for (int64_t i = 0; i < kKeyWordCount; ++i) order[i] = i;
  std::vector<std::string> keys;
  for (int64_t i = 0; i < count; ++i) {
    std::swap(order[i], order[i + static_cast<int64_t>(rng.below(kKeyWordCount - i))]);
    keys.push_back(kKeyWords[order[i]]);
  }
  return keys;
}

}  // namespace

SyntheticSample make_passkey(const Tokenizer& tokenizer, const std::vector<int64_t>& haystack,
                             const SyntheticOptions& o) {
  check_options(haystack, o);
  const Digits digits = find_digits(tokenizer);
  const std::vector<int64_t> needle_head = tokenizer.encode("|The passkey is:" + digits.after_colon);
  const std::vector<int64_t> bar = tokenizer.encode("|");
  const std::vector<int64_t> question = tokenizer.encode("|What is the passkey? The passkey is:" + digits.after_colon);
  SplitMix64 rng(o.seed);
  return draw_unique(o, rng, [&](SplitMix64& r) {
    const std::vector<int64_t> answer = draw_answer(digits.ids, o.answer_length, r);
    std::vector<Needle> needles = {{concat({&needle_head, &answer, &bar}), o.depth, true}};
    for (int64_t i = 0; i < o.decoys; ++i) {
      const std::vector<int64_t> head =
          tokenizer.encode(std::string("|The ") + kKeyWords[r.below(kKeyWordCount)] + " is:" + digits.after_colon);
      const std::vector<int64_t> digits_shown = draw_answer(digits.ids, o.answer_length, r);
      needles.push_back({concat({&head, &digits_shown, &bar}), uniform01(r), false});
    }
    return assemble(tokenizer, haystack, o, std::move(needles), question, answer, r);
  });
}

SyntheticSample make_multikey(const Tokenizer& tokenizer, const std::vector<int64_t>& haystack,
                              const SyntheticOptions& o) {
  check_options(haystack, o);
  DRT_CHECK(o.keys >= 1 && o.keys <= kKeyWordCount, "multikey: ", o.keys, " keys asked, between 1 and ", kKeyWordCount,
            " are possible");
  const Digits digits = find_digits(tokenizer);
  const std::vector<int64_t> bar = tokenizer.encode("|");
  SplitMix64 rng(o.seed);
  return draw_unique(o, rng, [&](SplitMix64& r) {
    const std::vector<std::string> keys = draw_keys(o.keys, r);
    std::vector<Needle> needles;
    std::vector<int64_t> asked_answer;
    for (size_t k = 0; k < keys.size(); ++k) {
      const std::vector<int64_t> head = tokenizer.encode("|The passkey for " + keys[k] + " is:" + digits.after_colon);
      const std::vector<int64_t> answer = draw_answer(digits.ids, o.answer_length, r);
      const bool asked = k == 0;  // keys are already in random order
      needles.push_back({concat({&head, &answer, &bar}), asked ? o.depth : uniform01(r), asked});
      if (asked) asked_answer = answer;
    }
    const std::vector<int64_t> question =
        tokenizer.encode("|What is the passkey for " + keys[0] + "? The passkey is:" + digits.after_colon);
    return assemble(tokenizer, haystack, o, std::move(needles), question, asked_answer, r);
  });
}

SyntheticSample make_multihop(const Tokenizer& tokenizer, const std::vector<int64_t>& haystack,
                              const SyntheticOptions& o) {
  check_options(haystack, o);
  const Digits digits = find_digits(tokenizer);
  const std::vector<int64_t> bar = tokenizer.encode("|");
  SplitMix64 rng(o.seed);
  return draw_unique(o, rng, [&](SplitMix64& r) {
    const std::vector<std::string> keys = draw_keys(2, r);
    const std::string& a = keys[0];
    const std::string& b = keys[1];
    const std::vector<int64_t> hop = tokenizer.encode("|The value of " + a + " is " + b + "|");
    const std::vector<int64_t> head = tokenizer.encode("|The passkey of " + b + " is:" + digits.after_colon);
    const std::vector<int64_t> answer = draw_answer(digits.ids, o.answer_length, r);
    // The hop comes first so that at equal depths the chain reads in order.
    std::vector<Needle> needles = {{hop, o.hop_depth, false}, {concat({&head, &answer, &bar}), o.depth, true}};
    const std::vector<int64_t> question =
        tokenizer.encode("|What is the passkey of the value of " + a + "? The passkey is:" + digits.after_colon);
    return assemble(tokenizer, haystack, o, std::move(needles), question, answer, r);
  });
}

SyntheticSample make_copy(const Tokenizer& tokenizer, const std::vector<int64_t>& haystack,
                          const SyntheticOptions& o, bool letters) {
  check_options(haystack, o);
  DRT_CHECK(o.copy_length >= 0, "copy: copy length ", o.copy_length, " must be 0 (a whole chunk) or positive");
  const int64_t length = o.copy_length > 0 ? o.copy_length : o.chunk_size - 1;
  // The symbols the copied string is drawn from: ten digits, or 26 letters, with which a
  // one- or two-token match already says where in the string the model is.
  const std::vector<int64_t> symbols = letters ? find_letters(tokenizer) : find_digits(tokenizer).ids;
  const std::vector<int64_t> bar = tokenizer.encode("|");
  SyntheticOptions with_length = o;
  with_length.answer_length = length;  // what draw_unique's error message names
  SplitMix64 rng(o.seed);
  return draw_unique(with_length, rng, [&](SplitMix64& r) {
    const std::vector<int64_t> answer = draw_answer(symbols, length, r);
    std::vector<Needle> needles = {{concat({&bar, &answer, &bar}), o.depth, true}};
    return assemble(tokenizer, haystack, o, std::move(needles), bar, answer, r);
  });
}

SyntheticSample make_synthetic(SyntheticTask task, const Tokenizer& tokenizer, const std::vector<int64_t>& haystack,
                               const SyntheticOptions& options) {
  switch (task) {
    case SyntheticTask::kPasskey: return make_passkey(tokenizer, haystack, options);
    case SyntheticTask::kMultikey: return make_multikey(tokenizer, haystack, options);
    case SyntheticTask::kMultihop: return make_multihop(tokenizer, haystack, options);
    case SyntheticTask::kCopy: return make_copy(tokenizer, haystack, options, false);
    case SyntheticTask::kCopyLetters: return make_copy(tokenizer, haystack, options, true);
  }
  throw Error("unknown synthetic task");
}

}  // namespace drt
