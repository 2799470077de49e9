// Generation on a streaming session: sample the next token from the session's last
// logits, read it back (the session inserts landmarks after every S tokens), repeat.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/sampler.h"
#include "engine/session.h"

namespace drt {

struct GenerateOptions {
  int64_t max_new = 64;
  SamplingOptions sampling;
  // Stop after emitting the bos id (the document separator: end of text).
  bool stop_at_bos = true;
};

// Generates up to max_new tokens after what `session` has read (at least one token must
// have been read). Every generated token is read back into the session, so it can be
// saved or continued. `on_token` sees each token as it is chosen; returning false stops.
std::vector<int64_t> generate(Session& session, const GenerateOptions& options,
                              const std::function<bool(int64_t)>& on_token = {});

// The ids a sampler must never choose for this model: the landmark and pad.
std::vector<int64_t> banned_ids(const ModelConfig& config);

}  // namespace drt
