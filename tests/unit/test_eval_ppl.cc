// Streaming perplexity equals the batch forward's loss on the same document, and the
// `drt eval ppl` command writes the documented JSON.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "eval/perplexity.h"
#include "support/test_util.h"

namespace drt {
namespace {

TEST(EvalPpl, StreamingLossEqualsBatchLoss) {
  ModelConfig c = test::tiny_config();
  DrtLM model = test::make_model(c, 9);
  auto tokens = test::random_tokens(1, 9 * c.enc_chunk_size, 5);  // [1, T]
  torch::Tensor batch_loss;
  {
    torch::NoGradGuard no_grad;
    ForwardOptions fo;
    fo.gumbel = false;
    batch_loss = lm_loss(model->forward(tokens, fo).logits, tokens);
  }
  std::vector<int64_t> doc(tokens.data_ptr<int64_t>(), tokens.data_ptr<int64_t>() + tokens.numel());
  for (int64_t segment : {int64_t{7}, int64_t{512}}) {
    PerplexityOptions options;
    options.segment = segment;
    options.progress = false;
    PerplexityResult r = evaluate_perplexity(model, 1, [&](int64_t) { return doc; }, options);
    EXPECT_EQ(r.tokens, tokens.size(1) - 1);  // the first token has no prediction without bos
    EXPECT_NEAR(r.loss(), batch_loss.item<double>(), 1e-5) << "segment " << segment;
    EXPECT_EQ(r.documents, 1);
  }
  // max_tokens stops early; bos as context scores every token.
  PerplexityOptions options;
  options.progress = false;
  options.max_tokens = 20;
  options.bos_id = c.bos_id;
  PerplexityResult r = evaluate_perplexity(model, 2, [&](int64_t) { return doc; }, options);
  EXPECT_EQ(r.tokens, 20);
  EXPECT_EQ(r.documents, 1);
}

TEST(EvalPpl, CommandWritesJson) {
  const std::string dir = test::temp_dir("evalppl");
  ASSERT_EQ(test::run_drt("init --config tiny --out " + dir + "/model").exit_code, 0);
  std::string text;
  for (int i = 0; i < 40; ++i) text += "In the beginning was the word, line " + std::to_string(i) + ".\n";
  std::ofstream(dir + "/doc.txt") << text;
  auto r = test::run_drt("eval ppl --model " + dir + "/model --input " + dir + "/doc.txt --json " + dir +
                         "/ppl.json --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("nats/token"), std::string::npos) << r.output;
  auto j = nlohmann::json::parse(std::ifstream(dir + "/ppl.json"));
  EXPECT_EQ(j.at("tokens").get<int64_t>(), static_cast<int64_t>(text.size()));  // bytes; bos is context only
  EXPECT_NEAR(j.at("ppl").get<double>(), std::exp(j.at("loss").get<double>()), 1e-9 * j.at("ppl").get<double>());
  ASSERT_GE(j.at("buckets").size(), 1u);
  EXPECT_EQ(j.at("buckets")[0].at("from").get<int64_t>(), 0);
  EXPECT_EQ(j.at("buckets")[0].at("to").get<int64_t>(), 2048);
  // --first-bucket 512: the document's 1.6K bytes fall in 0-512 and 512-2K.
  r = test::run_drt("eval ppl --model " + dir + "/model --input " + dir + "/doc.txt --first-bucket 512 --json " + dir +
                    "/ppl512.json --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("512-2K"), std::string::npos) << r.output;
  auto j512 = nlohmann::json::parse(std::ifstream(dir + "/ppl512.json"));
  ASSERT_EQ(j512.at("buckets").size(), 2u);
  EXPECT_EQ(j512.at("buckets")[0].at("to").get<int64_t>(), 512);
  EXPECT_EQ(j512.at("buckets")[0].at("tokens").get<int64_t>() + j512.at("buckets")[1].at("tokens").get<int64_t>(),
            j.at("tokens").get<int64_t>());
  EXPECT_NEAR(j512.at("loss").get<double>(), j.at("loss").get<double>(), 1e-9);
  r = test::run_drt("eval ppl --model " + dir + "/model --input " + dir + "/doc.txt --first-bucket 0");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--first-bucket 0"), std::string::npos) << r.output;
  EXPECT_EQ(test::run_drt("eval ppl --model " + dir + "/model").exit_code, 1);  // neither --data nor --input
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace drt
