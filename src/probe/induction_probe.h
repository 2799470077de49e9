// The induction probe: can a trained model copy? A passkey answer is a copy of tokens seen
// earlier, so a model that cannot continue a repeated random string cannot answer one,
// however its retrieval is trained. The probe feeds `trials` random strings of `length`
// symbols, each written twice, and compares the loss on the second copy with the loss on
// the first: a model with an induction head predicts the second copy almost perfectly; one
// without predicts it no better than the first (docs/results.md, "these models cannot copy").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/drt_model.h"

namespace drt {

class Tokenizer;

struct InductionProbeOptions {
  std::string alphabet = "letters";  // letters (a-z) | digits (0-9): each must be one token
  // When not empty, each string is a passage of this text (token ids, at a seeded offset)
  // instead of random symbols: can the model copy text it has read `length` tokens back?
  std::vector<int64_t> text;
  int64_t length = 200;              // symbols per copy
  int64_t trials = 8;                // random strings (one batch)
  uint64_t seed = 1;
};

struct InductionProbeResult {
  int64_t symbols = 0;             // alphabet size (0 for text)
  double chance_loss = 0;          // ln(symbols): a uniform guess among them (NaN for text)
  double first_loss = 0;           // mean cross-entropy on copy 1 (its 2nd..last symbol)
  double second_loss = 0;          // on copy 2 (its 2nd..last symbol, the first is not yet a copy)
  double first_accuracy = 0;       // argmax == symbol
  double second_accuracy = 0;
};

// The probe's input: [B = trials, T] token ids, row b = string b twice, rounded up to
// whole chunks with the start of a third copy (never scored).
at::Tensor induction_probe_tokens(const Tokenizer& tokenizer, const InductionProbeOptions& o, int64_t chunk_size);

// Runs the probe (no Gumbel noise; the model is put in eval mode).
InductionProbeResult run_induction_probe(DrtLM& model, const Tokenizer& tokenizer, const InductionProbeOptions& o);

nlohmann::json to_json(const InductionProbeResult& r);

}  // namespace drt
