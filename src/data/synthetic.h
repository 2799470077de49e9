// Synthetic long-context retrieval tasks (passkey, multi-key, multi-hop), built on token
// ids so that any tokenizer and any filler text can be used. A sample is T tokens:
//
//   [filler … needle … filler] [question] [answer]
//    \_______ body ________/   \___ tail, in the last chunk ___/
//
// T is a multiple of the chunk length S and the tail (question + answer) is at most S
// tokens and ends the sample, so it sits inside the last chunk: whatever the model
// needs from the needle it must fetch from a chunk far behind (by retrieval), never from
// its own chunk. The answer is `answer_length` digits, each one token; they are the only
// targets of the loss.
//
// Texts ('|' marks needle boundaries; <ans> is the digit tokens, <A>, <B> key words):
//   passkey   needle   "|The passkey is:<ans>|"
//             question "|What is the passkey? The passkey is:<ans>"
//             decoys (options.decoys of them) "|The <A> is:<digits>|", other digits at
//             random depths: numbers that are not the passkey, as natural text has them
//   multikey  needles  "|The passkey for <A> is:<ans>|" for several keys, one asked:
//             question "|What is the passkey for <A>? The passkey is:<ans>"
//   multihop  needles  "|The value of <A> is <B>|" and "|The passkey of <B> is:<ans>|"
//             question "|What is the passkey of the value of <A>? The passkey is:<ans>"
//   copy      needle   "|<ans>|" with a long answer (copy_length digits), question "|<ans>":
//             a dense copying exercise, every answer digit a target. A model whose
//             training text never repeats at random learns no copying (induction) at all;
//             the passkey needs it (docs/results.md).
//   copy-letters  the same with lowercase letters "a" … "z" (each one token) for digits:
//             with 26 symbols a one- or two-token match already locates the position in
//             the string, so copying is easier to learn than with 10 digits.
//
// Digits: when " 0" … " 9" are each one token (gpt2) the answer uses those, so the text
// reads "is: 7 3 9 1 4"; otherwise "0" … "9" must each be one token (bytes; spm, whose
// byte fallback guarantees it) and a space follows the colon: "is: 73914".
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/tokenizer.h"

namespace drt {

enum class SyntheticTask { kPasskey, kMultikey, kMultihop, kCopy, kCopyLetters };
// "passkey", "multikey", "multihop", "copy", "copy-letters".
SyntheticTask parse_synthetic_task(const std::string& name);
std::string to_string(SyntheticTask task);

struct SyntheticOptions {
  int64_t length = 0;         // T, a multiple of chunk_size
  int64_t chunk_size = 63;    // S
  double depth = 0.5;         // the needle with the answer: 0 = first token, 1 = just before the question
  double hop_depth = 0.25;    // multihop: the "value of <A> is <B>" needle
  int64_t keys = 4;           // multikey: needles in the haystack, 1..26
  int64_t answer_length = 5;  // digits (passkey, multikey, multihop)
  int64_t copy_length = 0;    // copy: digits; 0 = chunk_size - 1, the whole last chunk after its '|'
  uint64_t seed = 0;          // same seed, same sample
  // -1: the filler starts at a seeded offset of the haystack and the needles are inserted
  // into it. >= 0: token i of the sample is haystack[(offset + i) % size] wherever no
  // needle or the tail is written over it, so samples of one offset and length share
  // their haystack position by position and differ only where they hold needles (what
  // the spliced passkey evaluation, eval/passkey.h, reads once and reuses).
  int64_t haystack_offset = -1;
  // A training curriculum: the needle that holds the answer starts at a chunk start (its
  // depth rounded down to one; up where other needles leave no room) and the question
  // starts the last chunk (haystack follows the answer), so both ends of the copy sit at
  // fixed places in their chunks. GCA learns to read a chunk there first, and from there
  // to match content (docs/results.md, "Needles at chunk starts first").
  bool align_needle = false;
  // The needle that holds the answer is placed so that a chunk boundary cuts it at a drawn
  // token from its first through its answer's first: the chunk before ends with part of
  // the cue ("|The passkey is: ") or all of it, and the retrieved chunk then holds the
  // digits with the rest of the cue or none, so GCA must copy without "passkey" in sight.
  // Uniform depths make this layout 1 sample in S, while `drt eval passkey`'s depth 0.25
  // lands on it at every length of its grid (256 x 4^n chunks; docs/results.md, session 19).
  // align_needle wins where both are set.
  bool split_needle = false;
  // passkey: decoy needles "|The <A> is:<digits>|" at random depths, each with its own
  // random digits. A retriever trained on a haystack with few numbers learns "the chunk
  // with digits after 'is:'" and then fetches "The population of the Congo is 13.5" from
  // unseen text (docs/results.md); decoys make "passkey" the only cue that tells them apart.
  int64_t decoys = 0;
};

struct SyntheticSample {
  std::vector<int64_t> tokens;     // [T]
  std::vector<uint8_t> loss_mask;  // [T], 1 exactly on the answer
  int64_t needle_pos = 0;          // where the needle that holds the answer starts in tokens
  std::vector<int64_t> answer;     // [answer_length] == tokens[answer_pos, answer_pos + answer_length)
  int64_t answer_pos = 0;          // the last answer_length tokens, unless align_needle
};

// `haystack`: filler token ids (e.g. a valid split, or the encoded passkey_filler_text()),
// read from a seeded offset and repeated as needed. The answer is redrawn until it
// occurs exactly once before the tail, so a filler that contains digits is fine.
SyntheticSample make_passkey(const Tokenizer& tokenizer, const std::vector<int64_t>& haystack,
                             const SyntheticOptions& options);
SyntheticSample make_multikey(const Tokenizer& tokenizer, const std::vector<int64_t>& haystack,
                              const SyntheticOptions& options);
SyntheticSample make_multihop(const Tokenizer& tokenizer, const std::vector<int64_t>& haystack,
                              const SyntheticOptions& options);
// letters: "a" … "z" instead of digits (the copy-letters task).
SyntheticSample make_copy(const Tokenizer& tokenizer, const std::vector<int64_t>& haystack,
                          const SyntheticOptions& options, bool letters = false);
SyntheticSample make_synthetic(SyntheticTask task, const Tokenizer& tokenizer, const std::vector<int64_t>& haystack,
                               const SyntheticOptions& options);

// The repetitive filler of the landmark-attention passkey test ("The grass is green. The
// sky is blue. …"), for a haystack that carries no information at all.
std::string passkey_filler_text();

}  // namespace drt
