// Model invariants: causality of the whole model and of retrieval (DESIGN §5).
#include "support/test_util.h"

namespace drt::test {
namespace {

TEST(Causality, ChangingTokenTLeavesEarlierLogitsUnchanged) {
  ModelConfig c = tiny_config();
  DrtLM model = make_model(c);
  const int64_t S = c.enc_chunk_size, T = 8 * S;
  auto tokens = random_tokens(1, T, 7);
  torch::NoGradGuard ng;
  auto base = model->forward(tokens).logits;
  // First token, chunk boundaries (last token of a chunk, first token of the next), the middle.
  for (int64_t t : {int64_t(0), S - 1, S, 2 * S - 1, 3 * S, 5 * S + 7, T - 1}) {
    auto changed = tokens.clone();
    changed[0][t] = (changed[0][t].item<int64_t>() + 101) % 256;
    auto logits = model->forward(changed).logits;
    if (t > 0) {
      EXPECT_TRUE(all_close(logits.narrow(1, 0, t), base.narrow(1, 0, t), 0, 1e-5)) << "t = " << t;
    }
    // The change must be seen from t on, or the test proves nothing.
    EXPECT_GT((logits.narrow(1, t, 1) - base.narrow(1, t, 1)).abs().max().item<double>(), 1e-4) << "t = " << t;
  }
}

TEST(Causality, LandmarkPositionsOnlyInfluenceLaterPositions) {
  // The landmark embedding enters at every landmark position; logits of the first chunk's
  // tokens (all before the first landmark) must not depend on it, later ones must.
  ModelConfig c = tiny_config();
  DrtLM model = make_model(c);
  const int64_t S = c.enc_chunk_size;
  auto tokens = random_tokens(1, 6 * S, 3);
  torch::NoGradGuard ng;
  auto base = model->forward(tokens).logits;
  model->model->embed_tokens->weight[c.chunk_id].add_(0.5);
  auto changed = model->forward(tokens).logits;
  // The head is tied: the landmark's own logit column changes everywhere; compare the others.
  auto cols = [&](const torch::Tensor& t) { return t.narrow(2, 0, c.chunk_id); };
  EXPECT_TRUE(all_close(cols(changed).narrow(1, 0, S), cols(base).narrow(1, 0, S), 0, 1e-6));
  EXPECT_GT((cols(changed).narrow(1, S, S) - cols(base).narrow(1, S, S)).abs().max().item<double>(), 1e-4);
}

void check_retrieval_causal(const std::vector<Retrieval>& retrievals, int64_t K) {
  for (const auto& r : retrievals) {
    const int64_t B = r.indices.size(0), N = r.indices.size(1);
    ASSERT_EQ(r.indices.size(2), K);
    ASSERT_FALSE(r.weights.isnan().any().item<bool>());
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t chunk = 0; chunk < N; ++chunk) {
        int64_t used = 0;
        double sum = 0;
        for (int64_t k = 0; k < K; ++k) {
          const int64_t j = r.indices[b][chunk][k].item<int64_t>();
          const double w = r.weights[b][chunk][k].item<double>();
          if (j < 0) {
            EXPECT_EQ(w, 0.0) << "unused slot must weigh exactly 0";
            continue;
          }
          EXPECT_LT(j, chunk) << "chunk " << chunk << " retrieved itself or a later chunk";
          EXPECT_GT(w, 0.0);
          ++used;
          sum += w;
        }
        EXPECT_EQ(used, std::min(K, chunk)) << "chunk " << chunk;
        if (used > 0) EXPECT_NEAR(sum, 1.0, 1e-5);
      }
    }
  }
}

TEST(RetrievalCausality, OnlyPastChunksInEvalAndTraining) {
  ModelConfig c = tiny_config();
  c.chunk_topk = 3;
  DrtLM model = make_model(c);
  auto tokens = random_tokens(2, 9 * c.enc_chunk_size, 11);
  torch::NoGradGuard ng;
  auto eval_out = model->forward(tokens);
  ASSERT_EQ(eval_out.retrievals.size(), 2u);
  check_retrieval_causal(eval_out.retrievals, c.chunk_topk);
  model->train();
  for (uint64_t seed = 0; seed < 3; ++seed) {
    ForwardOptions o;
    o.noise_seed = seed;
    check_retrieval_causal(model->forward(tokens, o).retrievals, c.chunk_topk);
  }
}

TEST(RetrievalCausality, FewerChunksThanKGiveZeroWeightsNotNaN) {
  // Two chunks in all with K = 2: chunk 0 has nothing to choose, chunk 1 one chunk.
  ModelConfig c = tiny_config();
  DrtLM model = make_model(c);
  auto tokens = random_tokens(1, 2 * c.enc_chunk_size, 5);
  torch::NoGradGuard ng;
  auto out = model->forward(tokens);
  check_retrieval_causal(out.retrievals, c.chunk_topk);
  EXPECT_TRUE(out.logits.isfinite().all().item<bool>());
  // A single chunk: no retrieval anywhere.
  auto one = model->forward(random_tokens(1, c.enc_chunk_size, 6));
  EXPECT_EQ(one.retrievals[0].weights.abs().sum().item<double>(), 0.0);
}

TEST(RetrievalCausality, FirstTwoChunksGetZeroGcaOutput) {
  // Chunk 0 is served by nothing and chunk 1 by chunk 0's empty retrieval: removing GCA
  // (zero o_proj) must leave their logits unchanged, and change later chunks.
  ModelConfig c = tiny_config();
  DrtLM model = make_model(c);
  const int64_t S = c.enc_chunk_size;
  auto tokens = random_tokens(1, 6 * S, 9);
  torch::NoGradGuard ng;
  auto base = model->forward(tokens).logits;
  for (auto& item : model->named_parameters())
    if (item.key().find("gca.o_proj") != std::string::npos) item.value().zero_();
  auto no_gca = model->forward(tokens).logits;
  EXPECT_TRUE(all_close(no_gca.narrow(1, 0, 2 * S), base.narrow(1, 0, 2 * S), 0, 0));
  EXPECT_GT((no_gca.narrow(1, 2 * S, 4 * S) - base.narrow(1, 2 * S, 4 * S)).abs().max().item<double>(), 1e-5);
}

TEST(RetrievalCausality, GcaOfUnservedBlocksIsExactlyZero) {
  ModelConfig c = tiny_config();
  DrtLM model = make_model(c);
  const int64_t S = c.enc_chunk_size, N = 5, d = c.hidden_size;
  torch::NoGradGuard ng;
  auto x = model->model->embed_tokens(model->insert_landmarks(random_tokens(1, N * S, 2)));
  for (auto& layer : *model->model->lower_layers) x = layer->as<DecoderLayer>()->forward(x);
  ChunkMemory memory = model->model->encode_chunks(x);
  auto queries = model->model->lmk_norms[0]->as<RMSNorm>()->forward(x.view({1, N, S + 1, d}).select(2, S));
  Retrieval served = serve_next_chunk(retrieve(queries, memory.landmarks, c.chunk_topk, false, std::nullopt));
  auto gca = model->model->upper_groups[0][0]->as<UpperLayer>()->gca;
  auto out = gca->forward(x.view({1, N, S + 1, d}), memory.k, memory.v, served.indices, served.weights);
  EXPECT_EQ(out.narrow(1, 0, 2).abs().max().item<double>(), 0.0);
  EXPECT_GT(out.narrow(1, 2, N - 2).abs().max().item<double>(), 0.0);
}

}  // namespace
}  // namespace drt::test
