#include "probe/copy_probe.h"

#include <torch/torch.h>

#include <chrono>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/drt_model.h"

namespace drt {

namespace {

// One batch of probe samples. tokens: [B, N S] text tokens; mask: [B, N S], 1 on the
// answer digits after '?'; needle: the needle's chunk per sample; question: where each
// sample's '?' sits.
struct ProbeBatch {
  torch::Tensor tokens, mask;
  std::vector<int64_t> needle, question;
};

// repeat: the share of samples whose answer is one digit repeated (0 and 1 draw nothing,
// so runs without a mixed share keep their data stream).
ProbeBatch make_batch(int64_t B, int64_t S, const CopyProbeOptions& o, int64_t needle_begin, int64_t needle_end,
                      double repeat, bool random_offsets, torch::Generator& gen) {
  const int64_t N = o.chunks, n = o.digits;
  ProbeBatch b;
  b.tokens = torch::randint('a', 'z' + 1, {B, N * S}, gen, torch::kLong);
  b.mask = torch::zeros({B, N * S}, torch::kFloat32);
  for (int64_t i = 0; i < B; ++i) {
    const int64_t needle = torch::randint(needle_begin, needle_end, {1}, gen, torch::kLong).item<int64_t>();
    auto digits = torch::randint('0', '9' + 1, {n}, gen, torch::kLong);  // [n]
    const bool one_digit =
        repeat >= 1.0 || (repeat > 0.0 && torch::rand({1}, gen, torch::kDouble).item<double>() < repeat);
    if (one_digit) digits.fill_(digits[0].item<int64_t>());
    // Random offsets take away the positional shortcut: with '#' and '?' at their chunks'
    // starts, "copy from the same place in the chunk" answers without matching any content.
    int64_t needle_at = 0, question_at = 0;
    if (random_offsets) {
      needle_at = torch::randint(0, S - n, {1}, gen, torch::kLong).item<int64_t>();
      question_at = torch::randint(0, S - n, {1}, gen, torch::kLong).item<int64_t>();
    }
    auto row = b.tokens[i];
    const int64_t q = (N - 1) * S + question_at;
    row[needle * S + needle_at] = '#';
    row.narrow(0, needle * S + needle_at + 1, n).copy_(digits);
    row[q] = '?';
    row.narrow(0, q + 1, n).copy_(digits);
    b.mask[i].narrow(0, q + 1, n).fill_(1.0);
    b.needle.push_back(needle);
    b.question.push_back(q);
  }
  return b;
}

CopyProbeEval evaluate(DrtLM& model, const ProbeBatch& batch, const CopyProbeOptions& o, int64_t S) {
  torch::NoGradGuard no_grad;
  model->eval();
  ForwardOutput out = model->forward(batch.tokens);  // plain top-k
  model->train();
  const int64_t B = batch.tokens.size(0), N = o.chunks, n = o.digits;
  CopyProbeEval e;
  e.answer_loss = lm_loss(out.logits, batch.tokens, batch.mask).item<double>();
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < B; ++i) {
    const int64_t q = batch.question[static_cast<size_t>(i)];
    auto pred = out.logits[i].narrow(0, q, n).argmax(1);  // [n]: position t predicts t+1
    rows.push_back(pred == batch.tokens[i].narrow(0, q + 1, n));
  }
  auto right = torch::stack(rows).to(torch::kFloat);  // [B, n]
  auto per_digit = right.mean(0);
  for (int64_t j = 0; j < n; ++j) e.digit_accuracy.push_back(per_digit[j].item<double>());
  e.answers_right = std::get<0>(right.min(1)).mean().item<double>();
  if (!out.retrievals.empty()) {
    // The retrieval made by chunk N-2 serves the question's chunk. The chunk after the
    // needle also holds it: its lower-stack states saw the needle through the window.
    auto first = out.retrievals[0].indices.select(1, N - 2).select(1, 0);  // [B]
    double hit = 0;
    for (int64_t i = 0; i < B; ++i) {
      const int64_t f = first[i].item<int64_t>();
      hit += (f == batch.needle[i] || f == batch.needle[i] + 1) ? 1.0 : 0.0;
    }
    e.retrieval_top1 = hit / static_cast<double>(B);
  }
  return e;
}

}  // namespace

void validate_copy_probe(const CopyProbeOptions& o, const ModelConfig& c) {
  const int64_t S = c.enc_chunk_size;
  DRT_CHECK(o.chunks >= 2, "copy probe: --chunks must be at least 2, got ", o.chunks);
  DRT_CHECK(o.digits >= 1 && o.digits < S, "copy probe: --digits must be in [1, S-1] = [1, ", S - 1, "], got ",
            o.digits);
  DRT_CHECK(0 <= o.needle_begin && o.needle_begin < o.needle_end && o.needle_end <= o.chunks - 1,
            "copy probe: training needles [", o.needle_begin, ", ", o.needle_end,
            ") must be a non-empty range of chunks before the question's chunk ", o.chunks - 1);
  DRT_CHECK(0 <= o.eval_needle_begin && o.eval_needle_begin < o.eval_needle_end && o.eval_needle_end <= o.chunks - 1,
            "copy probe: evaluation needles [", o.eval_needle_begin, ", ", o.eval_needle_end,
            ") must be a non-empty range of chunks before the question's chunk ", o.chunks - 1);
  DRT_CHECK(o.steps >= 1, "copy probe: --steps must be positive, got ", o.steps);
  DRT_CHECK(o.repeat_steps >= 0 && o.repeat_steps <= o.steps, "copy probe: --repeat-steps must be in [0, --steps], got ",
            o.repeat_steps);
  DRT_CHECK(o.aligned_steps >= 0 && o.aligned_steps <= o.steps,
            "copy probe: --aligned-steps must be in [0, --steps], got ", o.aligned_steps);
  DRT_CHECK(o.aligned_steps == 0 || o.random_offsets, "copy probe: --aligned-steps ", o.aligned_steps,
            " needs --random-offsets (without it every step is aligned)");
  DRT_CHECK(o.near_steps >= 0 && o.near_steps <= o.steps, "copy probe: --near-steps must be in [0, --steps], got ",
            o.near_steps);
  DRT_CHECK(o.repeat_share >= 0.0 && o.repeat_share < 1.0, "copy probe: --repeat-share must be in [0, 1), got ",
            o.repeat_share);
  DRT_CHECK(o.batch >= 1, "copy probe: --batch must be positive, got ", o.batch);
  DRT_CHECK(o.eval_every >= 1, "copy probe: --eval-every must be positive, got ", o.eval_every);
  DRT_CHECK(o.eval_samples >= 1, "copy probe: --eval-samples must be positive, got ", o.eval_samples);
  DRT_CHECK(o.lr > 0, "copy probe: --lr must be positive, got ", o.lr);
  DRT_CHECK(c.vocab_size > 'z', "copy probe: needs a byte-level vocabulary (ids up to 'z'), vocab_size is ", c.vocab_size);
}

int64_t far_needle_end(const ModelConfig& c, int64_t chunks) {
  int64_t layers = 0;
  for (int64_t l : c.decoder_layers) layers += l;
  const int64_t L = c.block_size();
  // The needle of chunk j ends at position j L + digits (<= j L + S); the question's '?'
  // sits at (N-1) L. It is out of reach when more than layers x W positions lie between.
  const int64_t room = (chunks - 1) * L - layers * c.effective_window() - c.enc_chunk_size;
  return room > 0 ? std::min<int64_t>((room + L - 1) / L, chunks - 1) : 0;
}

std::vector<CopyProbeEval> run_copy_probe(const ModelConfig& c, const CopyProbeOptions& o,
                                          const std::function<void(const CopyProbeEval&)>& on_eval) {
  validate_copy_probe(o, c);
  const int64_t S = c.enc_chunk_size;
  DrtLM model(c);
  model->init_weights(o.seed);
  model->train();
  torch::Generator data_gen = at::detail::createCPUGenerator(o.seed * 7919 + 1);
  torch::Generator eval_gen = at::detail::createCPUGenerator(o.seed * 7919 + 2);
  const ProbeBatch eval_batch =
      make_batch(o.eval_samples, S, o, o.eval_needle_begin, o.eval_needle_end, 0.0, o.random_offsets, eval_gen);
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(o.lr).weight_decay(0.0));
  std::vector<CopyProbeEval> evals;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t step = 1; step <= o.steps; ++step) {
    const double repeat = step <= o.repeat_steps ? 1.0 : o.repeat_share;
    const bool near = step <= o.near_steps;  // the needle in the chunk before the question's
    ProbeBatch b = make_batch(o.batch, S, o, near ? o.chunks - 2 : o.needle_begin,
                              near ? o.chunks - 1 : o.needle_end, repeat,
                              o.random_offsets && step > o.aligned_steps, data_gen);
    ForwardOptions f;
    f.noise_seed = o.seed * 1000003 + static_cast<uint64_t>(step) * 1000;  // Gumbel noise per sample
    auto loss = lm_loss(model->forward(b.tokens, f).logits, b.tokens, b.mask);
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step % o.eval_every == 0 || step == o.steps) {
      CopyProbeEval e = evaluate(model, eval_batch, o, S);
      e.step = step;
      e.train_loss = loss.item<double>();
      e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      evals.push_back(e);
      if (on_eval) on_eval(e);
    }
  }
  return evals;
}

nlohmann::json to_json(const CopyProbeOptions& o) {
  return {{"chunks", o.chunks},
          {"needles", {o.needle_begin, o.needle_end}},
          {"eval_needles", {o.eval_needle_begin, o.eval_needle_end}},
          {"digits", o.digits},
          {"steps", o.steps},
          {"repeat_steps", o.repeat_steps},
          {"repeat_share", o.repeat_share},
          {"near_steps", o.near_steps},
          {"random_offsets", o.random_offsets},
          {"aligned_steps", o.aligned_steps},
          {"batch", o.batch},
          {"eval_every", o.eval_every},
          {"eval_samples", o.eval_samples},
          {"lr", o.lr},
          {"seed", o.seed}};
}

nlohmann::json to_json(const CopyProbeEval& e) {
  return {{"step", e.step},
          {"answer_loss", e.answer_loss},
          {"digit_accuracy", e.digit_accuracy},
          {"answers_right", e.answers_right},
          {"retrieval_top1", e.retrieval_top1},
          {"train_loss", e.train_loss},
          {"seconds", e.seconds}};
}

}  // namespace drt
