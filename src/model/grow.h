// Growing a trained model by one decoder layer that starts as the identity.
//
// The tiny passkey model read a needle inside its window (depth 1) at 35-64% however it was
// trained, while GCA copied from retrieved chunks at 94-100% (docs/results.md, session 21):
// the window's copy was what two 2-head layers of d = 64 could not do well, and a second
// lower layer grown this way read it at 100%. Training a wider
// model from scratch costs every stage again (retrieval across lengths took GPU sessions).
// A layer grown in place keeps all of that: it is a copy of the last layer of its stack
// with every projection that writes to the residual stream (self-attention's o_proj,
// GCA's o_proj, the MLP's down_proj) set to zero, so the grown model computes exactly what
// the model did, the retriever and chunk memory included, until training moves them.
#pragma once
#include <string>

#include "model/drt_model.h"

namespace drt {

// Where the layer goes: "lower" (after the lower stack's last layer, before the chunk
// encoder, which then reads its output) or "group:G" (after upper group G's last layer,
// sharing that group's retrieval). Anything else is an error naming it.
struct GrowPlace {
  int64_t stack = 0;  // index into ModelConfig::decoder_layers: 0 = lower, G + 1 = group G
};
GrowPlace parse_grow_place(const std::string& where, const ModelConfig& config);

// A new model with one more layer at `place`; every other parameter copied from `model`.
DrtLM grow_model(DrtLM& model, const GrowPlace& place);

// The sliding-window baseline of a DRT (`drt baseline`): the same decoder layers, window,
// landmark layout and tokenizer with retrieval off, so every decoder layer is a lower layer
// and the upper groups' layers follow the lower stack in order. Each weight the two share
// (embeddings, norms, every layer's self-attention and MLP) is copied; the chunk encoder,
// retriever and GCA are dropped. A DRT whose GCA outputs are zero computes exactly what its
// baseline does, so the two can be trained on from one starting point and compared for
// what retrieval adds, with nothing else between them. Refuses a model without retrieval.
DrtLM window_baseline_of(DrtLM& model);

}  // namespace drt
