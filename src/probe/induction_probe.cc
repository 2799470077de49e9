#include "probe/induction_probe.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/rng.h"
#include "data/tokenizer.h"

namespace drt {

namespace {

std::vector<int64_t> alphabet_ids(const Tokenizer& tokenizer, const std::string& alphabet) {
  std::string symbols;
  if (alphabet == "letters") symbols = "abcdefghijklmnopqrstuvwxyz";
  else if (alphabet == "digits") symbols = "0123456789";
  else throw Error(str_cat("probe induction: --alphabet must be letters or digits, got '", alphabet, "'"));
  std::vector<int64_t> ids;
  for (char ch : symbols) {
    const std::vector<int64_t> one = tokenizer.encode(std::string(1, ch));
    DRT_CHECK(one.size() == 1, "probe induction: '", std::string(1, ch), "' is ", one.size(), " tokens in the ",
              tokenizer.spec(), " tokenizer; the alphabet's symbols must be one token each");
    ids.push_back(one[0]);
  }
  return ids;
}

}  // namespace

at::Tensor induction_probe_tokens(const Tokenizer& tokenizer, const InductionProbeOptions& o, int64_t chunk_size) {
  DRT_CHECK(o.length >= 2, "probe induction: --length must be at least 2, got ", o.length);
  DRT_CHECK(o.trials >= 1, "probe induction: --trials must be at least 1, got ", o.trials);
  const bool text = !o.text.empty();
  const std::vector<int64_t> ids = text ? std::vector<int64_t>{} : alphabet_ids(tokenizer, o.alphabet);
  const int64_t L = o.length;
  DRT_CHECK(!text || static_cast<int64_t>(o.text.size()) >= L, "probe induction: the text has ", o.text.size(),
            " tokens, fewer than one string of --length ", L);
  const int64_t T = (2 * L + chunk_size - 1) / chunk_size * chunk_size;
  auto tokens = torch::empty({o.trials, T}, torch::kLong);  // [B, T]
  auto at = tokens.accessor<int64_t, 2>();
  SplitMix64 rng(o.seed);
  for (int64_t b = 0; b < o.trials; ++b) {
    const uint64_t offset = text ? rng.below(o.text.size() - L + 1) : 0;
    for (int64_t t = 0; t < L; ++t) at[b][t] = text ? o.text[offset + t] : ids[rng.below(ids.size())];
    for (int64_t t = L; t < T; ++t) at[b][t] = at[b][t - L];  // copy, copy, the start of a third
  }
  return tokens;
}

InductionProbeResult run_induction_probe(DrtLM& model, const Tokenizer& tokenizer, const InductionProbeOptions& o) {
  const at::Tensor tokens = induction_probe_tokens(tokenizer, o, model->config.enc_chunk_size);  // [B, T]
  const int64_t L = o.length;
  torch::NoGradGuard no_grad;
  model->eval();
  ForwardOptions fo;
  fo.gumbel = false;
  auto logp = torch::log_softmax(model->forward(tokens, fo).logits.to(torch::kFloat32), -1);  // [B, T, V]
  // Position t predicts token t from tokens < t: row t-1 of the logits.
  auto scored = [&](int64_t first, int64_t count) {  // targets t in [first, first + count)
    auto pred = logp.narrow(1, first - 1, count);                    // [B, count, V]
    auto target = tokens.narrow(1, first, count).unsqueeze(2);        // [B, count, 1]
    const double loss = -pred.gather(2, target).mean().item<double>();
    const double accuracy = pred.argmax(2).eq(target.squeeze(2)).to(torch::kFloat32).mean().item<double>();
    return std::make_pair(loss, accuracy);
  };
  InductionProbeResult r;
  if (o.text.empty()) {
    r.symbols = static_cast<int64_t>(alphabet_ids(tokenizer, o.alphabet).size());
    r.chance_loss = std::log(static_cast<double>(r.symbols));
  } else {
    r.chance_loss = std::numeric_limits<double>::quiet_NaN();
  }
  std::tie(r.first_loss, r.first_accuracy) = scored(1, L - 1);
  std::tie(r.second_loss, r.second_accuracy) = scored(L + 1, L - 1);
  return r;
}

nlohmann::json to_json(const InductionProbeResult& r) {
  return {{"symbols", r.symbols},           {"chance_loss", r.chance_loss},
          {"first_loss", r.first_loss},     {"second_loss", r.second_loss},
          {"first_accuracy", r.first_accuracy}, {"second_accuracy", r.second_accuracy}};
}

}  // namespace drt
