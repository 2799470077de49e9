// Passkey / multi-key / multi-hop retrieval evaluation (`drt eval passkey`): for every
// context length and needle depth, `trials` synthetic samples (data/synthetic.h) are read
// by a fresh streaming Session and scored:
//
//   token mode  teacher-forced: a hit when every answer token is the argmax of the
//               prediction before it
//   text mode   greedy generation after the question: a hit when the generated text
//               contains the passkey
//
// Results: accuracy per (length, depth), JSON and a depth x length heatmap.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/synthetic.h"
#include "engine/session.h"

namespace drt {

enum class PasskeyMode { kToken, kText };
PasskeyMode parse_passkey_mode(const std::string& name);  // "token" | "text"

struct PasskeyOptions {
  SyntheticTask task = SyntheticTask::kPasskey;
  std::vector<int64_t> lengths;  // context lengths in tokens (rounded up to whole chunks)
  int64_t depths = 10;           // needle depths, evenly spaced over [0, 1]
  int64_t trials = 1;            // samples per (length, depth)
  PasskeyMode mode = PasskeyMode::kToken;
  uint64_t seed = 0;
  int64_t answer_length = 5;  // digits
  bool progress = true;       // a progress line on stderr (tokens/s, ETA)
};

struct PasskeyCell {
  int64_t length = 0;  // tokens
  double depth = 0;
  int64_t trials = 0, correct = 0;
  double accuracy() const { return trials > 0 ? static_cast<double>(correct) / static_cast<double>(trials) : 0.0; }
};

struct PasskeyReport {
  std::string task;
  std::string mode;
  std::vector<PasskeyCell> results;  // length-major, then depth
  double accuracy() const;           // over every trial
  // {"task", "mode", "results": [{"length", "depth", "trials", "correct", "accuracy"}], "accuracy"}
  nlohmann::json to_json() const;
  std::string table() const;
};

// n depths evenly spaced in [0, 1] (n = 1: 0.5).
std::vector<double> depth_values(int64_t n);

// logits [A, V]: the predictions for the A answer tokens. Hit: each argmax is the answer.
bool token_mode_hit(const at::Tensor& logits, const std::vector<int64_t>& answer);
// Hit: `generated` contains `passkey` (spaces at either end of the passkey ignored).
bool text_mode_hit(const std::string& generated, const std::string& passkey);

// Answers one sample: true on a hit.
using PasskeyAttempt = std::function<bool(const SyntheticSample&)>;

// The model's attempt: a new Session (chunk memory per `memory`) reads the sample and
// is scored in `mode`.
PasskeyAttempt session_attempt(DrtLM model, const Tokenizer& tokenizer, PasskeyMode mode, const MemorySpec& memory);

// Builds every sample from `haystack` (filler token ids) and scores it with `attempt`.
PasskeyReport run_passkey(const Tokenizer& tokenizer, const std::vector<int64_t>& haystack, int64_t chunk_size,
                          const PasskeyOptions& options, const PasskeyAttempt& attempt);

// Depth (rows) x length (columns) accuracy heatmap as PNG.
void write_passkey_heatmap(const std::string& path, const PasskeyReport& report);

// "4K", "1M", "1000".
std::string format_count(int64_t n);

}  // namespace drt
