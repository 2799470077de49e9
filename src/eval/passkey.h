// Passkey / multi-key / multi-hop retrieval evaluation (`drt eval passkey`): for every
// context length and needle depth, `trials` synthetic samples (data/synthetic.h) are read
// by a fresh streaming Session and scored:
//
//   token mode  teacher-forced: a hit when every answer token is the argmax of the
//               prediction before it
//   text mode   greedy generation after the question: a hit when the generated text
//               contains the passkey
//
// Spliced reading (spliced_attempt, `drt eval passkey --read spliced`): the samples of
// one length overlay one haystack (SyntheticOptions::haystack_offset) and differ only
// where their needles and question are. A chunk's memory and landmark key come from the
// lower stack alone, whose window reaches (lower layers) x W positions back, so a needle
// changes the memory of its own chunks and the next ceil(lower x W / (S+1)) only; the
// upper groups' outputs at the question depend on the last (upper layers) x W positions
// and on retrievals over the memory. So the haystack is read once per length, with the
// lower stack's window caches kept at the chunks where needles start; each sample then
// re-encodes only the chunks its needles change (a session started at the needle) and
// reads the last (upper layers) x W positions (a session started there over the spliced
// memory). The logits equal a full read of the sample (tests/model/test_passkey_splice.cc),
// at O(layers x W) tokens per sample instead of O(length).
//
// Results: accuracy per (length, depth), JSON and a depth x length heatmap.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/synthetic.h"
#include "engine/session.h"

namespace drt {

enum class PasskeyMode { kToken, kText };
PasskeyMode parse_passkey_mode(const std::string& name);  // "token" | "text"

// Which chunks GCA serves while a sample is read (`drt eval passkey --gca-chunks`): a
// diagnostic ablation, to tell whether a model copies the needle through GCA in the
// question's chunk itself or relays it through the chunks before (each of which can read
// retrieved chunks, and the question's window reaches back into them).
enum class GcaChunks {
  kAll,             // every chunk (the model as it is)
  kQuestion,        // only the question's chunk: the one holding the end of the sample
  kBeforeQuestion,  // every chunk but the question's
  kNone,            // no chunk: what the model reads through its windows alone
};
GcaChunks parse_gca_chunks(const std::string& name);  // "all" | "question" | "before-question" | "none"
const char* to_string(GcaChunks chunks);

struct PasskeyOptions {
  SyntheticTask task = SyntheticTask::kPasskey;
  std::vector<int64_t> lengths;  // context lengths in tokens (rounded up to whole chunks)
  int64_t depths = 10;           // needle depths, evenly spaced over [0, 1]
  std::vector<double> depth_list;  // or exactly these depths, when not empty
  int64_t trials = 1;            // samples per (length, depth) and context
  // Haystack contexts per length. Overlaid samples of one length share one haystack offset,
  // so a cell's trials are its digits at one place in one text, and every cell of a length
  // shares the question's window: one context. With N > 1 each length is read at N offsets
  // (the first is the one N = 1 reads), trials samples per depth at each, so a cell holds
  // N x trials samples from N texts and counts the contexts where it got under half right.
  int64_t contexts = 1;
  PasskeyMode mode = PasskeyMode::kToken;
  uint64_t seed = 0;
  int64_t answer_length = 5;  // digits
  int64_t copy_length = 0;    // copy tasks: symbols in the string (0 = chunk size - 1)
  bool progress = true;       // a progress line on stderr (tokens/s, ETA)
  // The samples of one length overlay one haystack (at a seeded offset per length)
  // instead of each taking its own: what spliced reading needs, and the full read of the
  // same samples that checks it.
  bool overlay = false;
};

// What one attempt found. Besides the hit, two finer measures for models that are not
// there yet: how many answer tokens were right (token mode, teacher-forced), and whether
// retrieval fetched the needle for the question (DRT: a chunk holding an answer token is
// among the chunks retrieved for the question's chunk, in any group; chance is about
// K / chunks).
struct PasskeyOutcome {
  PasskeyOutcome(bool hit = false) : correct(hit) {}  // NOLINT: an attempt may just say hit or miss
  bool correct = false;
  int64_t answer_tokens = 0, answer_tokens_right = 0;  // 0, 0: not measured
  int retrieved = -1;                                  // -1: not measured (no retrieval)
  // The retrieval weight on the needle's chunks, averaged over the groups (0 when not
  // retrieved): GCA's output from the needle is scaled by it, so a retriever that fetches
  // the needle among k chunks with weight 1/k has not yet learned to pick it.
  double needle_weight = 0;
};

struct PasskeyCell {
  int64_t length = 0;  // tokens
  double depth = 0;
  int64_t trials = 0, correct = 0;
  int64_t contexts = 0, contexts_below_half = 0;  // haystack contexts, and those under 50% right
  int64_t answer_tokens = 0, answer_tokens_right = 0;
  int64_t retrieval_trials = 0, retrieved = 0;
  double needle_weight = 0;  // summed over the retrieval trials
  // Tokens from the needle's first token to the first answer token, summed over trials:
  // how far back the answer is (a model may copy only as far back as it was trained to).
  double needle_distance = 0;
  double accuracy() const { return trials > 0 ? static_cast<double>(correct) / static_cast<double>(trials) : 0.0; }
  void add(const PasskeyOutcome& o);
};

struct PasskeyReport {
  std::string task;
  std::string mode;
  std::vector<PasskeyCell> results;  // length-major, then depth
  double accuracy() const;           // over every trial
  // {"task", "mode", "results": [{"length", "depth", "trials", "correct", "accuracy",
  // "needle_distance", "token_accuracy"?, "retrieval_rate"?, "needle_weight"?}], "accuracy"}
  // (? = when measured; needle_distance is the mean over the cell's trials)
  nlohmann::json to_json() const;
  std::string table() const;
};

// n depths evenly spaced in [0, 1] (n = 1: 0.5).
std::vector<double> depth_values(int64_t n);

// logits [A, V]: the predictions for the A answer tokens. Hit: each argmax is the answer.
bool token_mode_hit(const at::Tensor& logits, const std::vector<int64_t>& answer);
// Hit: `generated` contains `passkey` (spaces at either end of the passkey ignored).
bool text_mode_hit(const std::string& generated, const std::string& passkey);

// Answers one sample (a lambda may return just a bool: hit or miss).
using PasskeyAttempt = std::function<PasskeyOutcome(const SyntheticSample&)>;

// The model's attempt: a new Session (chunk memory per `memory`) reads the sample and
// is scored in `mode`.
// With `show`, each sample's answer and the retrievals that served the question's chunk
// (with the best chunk's text) are printed there.
// `gca` ablates GCA in some chunks (see GcaChunks).
PasskeyAttempt session_attempt(DrtLM model, const Tokenizer& tokenizer, PasskeyMode mode, const MemorySpec& memory,
                               std::ostream* show = nullptr, GcaChunks gca = GcaChunks::kAll);

// Called once per length before its samples are attempted, with every sample's options.
using PasskeyPrepare = std::function<void(int64_t length, const std::vector<SyntheticOptions>& samples)>;

// Counts of what a spliced evaluation read.
struct SpliceStats {
  int64_t haystack_tokens = 0;  // read once per length
  int64_t sample_tokens = 0;    // re-read per sample (needle chunks + the last window span)
  int64_t samples = 0;
};

// Spliced reading (see the top of this file).
class SplicedReader {
 public:
  // Haystack sessions keep their chunk memory per `memory` (a disk path is reused per
  // length); per-sample sessions keep their few new chunks in RAM.
  SplicedReader(DrtLM model, const Tokenizer& tokenizer, std::vector<int64_t> haystack, SyntheticTask task,
                const MemorySpec& memory, bool progress);
  ~SplicedReader();
  // Reads the haystack the samples of one length overlay (their haystack_offset >= 0).
  void prepare(int64_t length, const std::vector<SyntheticOptions>& samples);
  // A session in the state of a full read of sample tokens [0, *from), as far as the
  // logits at the end of the sample can tell: read the rest of the sample into it.
  Session start(const SyntheticSample& sample, int64_t* from);
  const SpliceStats& stats() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct SplicedPasskey {
  PasskeyPrepare prepare;  // reads the haystack of a length
  PasskeyAttempt attempt;  // scores one sample of it
  std::shared_ptr<SplicedReader> reader;
  const SpliceStats& stats() const { return reader->stats(); }
};

// A SplicedReader as run_passkey's prepare and attempt (its options need overlay set).
SplicedPasskey spliced_attempt(DrtLM model, const Tokenizer& tokenizer, const std::vector<int64_t>& haystack,
                               SyntheticTask task, PasskeyMode mode, const MemorySpec& memory, bool progress,
                               std::ostream* show = nullptr, GcaChunks gca = GcaChunks::kAll);

// Builds every sample from `haystack` (filler token ids) and scores it with `attempt`
// (after `prepare`, if given, has seen the samples of each length).
PasskeyReport run_passkey(const Tokenizer& tokenizer, const std::vector<int64_t>& haystack, int64_t chunk_size,
                          const PasskeyOptions& options, const PasskeyAttempt& attempt,
                          const PasskeyPrepare& prepare = {});

// Depth (rows) x length (columns) accuracy heatmap as PNG.
void write_passkey_heatmap(const std::string& path, const PasskeyReport& report);

// "4K", "1M", "1000".
std::string format_count(int64_t n);

}  // namespace drt
