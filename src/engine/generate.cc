#include "engine/generate.h"

#include <torch/torch.h>

#include "core/error.h"

namespace drt {

std::vector<int64_t> banned_ids(const ModelConfig& config) { return {config.chunk_id, config.pad_id}; }

std::vector<int64_t> generate(Session& session, const GenerateOptions& options,
                              const std::function<bool(int64_t)>& on_token) {
  DRT_CHECK(session.last_logits().defined(), "generate: the session has read nothing to continue from");
  Sampler sampler(options.sampling, banned_ids(session.config()));
  std::vector<int64_t> out;
  for (int64_t i = 0; i < options.max_new; ++i) {
    const int64_t next = sampler.sample(session.last_logits());
    out.push_back(next);
    session.read(&next, 1, Logits::kNone);
    if (on_token && !on_token(next)) break;
    if (options.stop_at_bos && next == session.config().bos_id) break;
  }
  return out;
}

}  // namespace drt
