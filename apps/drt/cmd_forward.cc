#include <torch/torch.h>

#include <fstream>
#include <iostream>

#include "apps/drt/commands.h"
#include "core/args.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"

namespace drt::cli {

namespace {
std::vector<int64_t> read_token_ids(const std::string& path) {
  std::ifstream in(path);
  DRT_CHECK(in.good(), "cannot open token file ", path);
  std::vector<int64_t> ids;
  std::string word;
  while (in >> word) {
    char* end = nullptr;
    long long v = std::strtoll(word.c_str(), &end, 10);
    DRT_CHECK(end && *end == '\0', path, ": token ", ids.size(), " is '", word, "', not an integer id");
    ids.push_back(v);
  }
  return ids;
}
}  // namespace

int cmd_forward(int argc, char** argv) {
  Args args("forward",
            "Run the batch forward on token ids and write logits [T, V] (landmark positions removed) and,\n"
            "per retrieval group g, retrieval.{g}.indices [N, K] (I64, -1 = unused slot) and\n"
            "retrieval.{g}.weights [N, K] (F32): row c is the retrieval made by chunk c.");
  args.required("model", "DIR", "model directory")
      .required("tokens", "FILE", "text file of whitespace-separated token ids; length a multiple of S "
                                  "(landmarks are inserted by drt)")
      .required("out", "FILE", "output .safetensors file")
      .flag("eval", "evaluation mode: plain top-k retrieval, no Gumbel noise")
      .option("seed", "N", "seed of the Gumbel noise (without --eval)", "0");
  if (!args.parse(argc, argv)) return 0;
  DrtLM model = load_model(args.get("model"));
  std::vector<int64_t> ids = read_token_ids(args.get("tokens"));
  const int64_t S = model->config.enc_chunk_size;
  DRT_CHECK(!ids.empty() && ids.size() % S == 0, args.get("tokens"), " has ", ids.size(),
            " tokens, not a positive multiple of the chunk size S=", S);
  auto tokens = torch::tensor(ids, torch::kLong).unsqueeze(0);  // [1, T]
  const bool eval = args.get_flag("eval");
  if (eval) model->eval();
  else model->train();
  ForwardOptions options;
  options.gumbel = !eval;
  options.noise_seed = static_cast<uint64_t>(args.get_int("seed"));
  torch::NoGradGuard no_grad;
  ForwardOutput out = model->forward(tokens, options);
  std::map<std::string, at::Tensor> tensors;
  tensors["logits"] = out.logits.squeeze(0).to(torch::kFloat32);
  for (size_t g = 0; g < out.retrievals.size(); ++g) {
    tensors["retrieval." + std::to_string(g) + ".indices"] = out.retrievals[g].indices.squeeze(0).to(torch::kLong);
    tensors["retrieval." + std::to_string(g) + ".weights"] = out.retrievals[g].weights.squeeze(0).to(torch::kFloat32);
  }
  write_safetensors(args.get("out"), tensors, {{"mode", eval ? "eval" : "train"}});
  std::cout << "wrote " << args.get("out") << ": logits [" << ids.size() << ", " << model->config.vocab_size << "], "
            << out.retrievals.size() << " retrieval groups\n";
  return 0;
}

}  // namespace drt::cli
