// Streaming perplexity over long documents (`drt eval ppl`): every document is read by a
// fresh Session, in segments, and each token's cross-entropy is accumulated overall and
// per position bucket, so one sees whether the model keeps predicting well far beyond
// its training length.
//
// "loss" is the mean cross-entropy in nats per token; "ppl" is exp(loss).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/session.h"

namespace drt {

// Position buckets [0, 2K), [2K, 8K), [8K, 32K), [32K, 128K), ... (each 4x the last).
// The position of a token is its index in its document. A smaller first bucket that is
// 2K / 4^n (512, 128, 32) splits [0, 2K) in x4 steps and keeps every later bucket as it
// is, so results with and without it compare bucket for bucket.
struct PositionBuckets {
  static constexpr int64_t kDefaultFirstEnd = 2048;
  static constexpr int64_t kGrowth = 4;
  explicit PositionBuckets(int64_t first_end = kDefaultFirstEnd);
  int64_t index(int64_t position) const;
  int64_t begin(int64_t bucket) const;
  int64_t end(int64_t bucket) const;  // exclusive
  std::string label(int64_t bucket) const;  // "0-2K", "2K-8K", "8K-32K", "32K-128K", ...

 private:
  int64_t first_end_;
};

struct BucketStats {
  int64_t from = 0, to = 0;  // positions [from, to)
  int64_t tokens = 0;
  double nll_sum = 0;  // nats
  double loss() const;  // mean nats/token (NaN without tokens)
  double ppl() const;   // exp(loss)
};

struct PerplexityResult {
  PositionBuckets edges;
  int64_t tokens = 0;
  double nll_sum = 0;
  int64_t documents = 0;
  std::vector<BucketStats> buckets;  // every bucket up to the longest position seen

  void add(int64_t position, double nll);
  double loss() const;
  double ppl() const;
  // {"loss", "ppl", "tokens", "buckets": [{"from", "to", "tokens", "loss", "ppl"}]}
  nlohmann::json to_json() const;
  // A table, one row per bucket plus "all", saying which column is which.
  std::string table() const;
};

struct PerplexityOptions {
  int64_t max_tokens = 0;      // stop after scoring this many tokens (0 = all)
  int64_t segment = 512;       // tokens read per Session::read (bounds the logits in memory)
  MemorySpec memory;           // chunk memory of each document's session
  int64_t bos_id = -1;         // read before each document as context (not scored); < 0: none
  bool progress = true;        // a progress line on stderr (tokens/s, ETA)
  int64_t expected_tokens = 0; // the progress line's total (the documents' length), if known
  int64_t first_bucket = PositionBuckets::kDefaultFirstEnd;  // end of the first position bucket
};

// Scores documents 0..count-1, `document(i)` giving document i's token ids.
PerplexityResult evaluate_perplexity(DrtLM model, int64_t count,
                                     const std::function<std::vector<int64_t>(int64_t)>& document,
                                     const PerplexityOptions& options);

}  // namespace drt
