// `drt grow`: a layer added to a trained model starts as the identity and can learn; `drt
// baseline`: a DRT copied as its window baseline computes what the DRT does without GCA.
#include <filesystem>

#include "model/checkpoint.h"
#include "model/grow.h"
#include "support/test_util.h"

namespace drt::test {
namespace {

// The logits of the grown model equal the model's, wherever the layer goes (the lower
// stack, whose output the chunk encoder reads, or an upper group), and the new layer's
// output projections still get a gradient, so training can move them.
TEST(Grow, AGrownLayerStartsAsTheIdentityAndLearns) {
  ModelConfig c = tiny_config();  // decoder_layers [1, 1, 1]: the lower stack and two groups
  DrtLM model = make_model(c, 7);
  model->eval();
  auto tokens = random_tokens(2, 6 * c.enc_chunk_size, 3);
  torch::Tensor expected;
  {
    torch::NoGradGuard ng;
    expected = model->forward(tokens).logits;
  }
  const std::vector<std::pair<std::string, std::string>> places = {
      {"lower", "model.lower_layers.1."}, {"group:0", "model.upper_layers.0.1."}, {"group:1", "model.upper_layers.1.1."}};
  for (const auto& [where, prefix] : places) {
    SCOPED_TRACE(where);
    DrtLM grown = grow_model(model, parse_grow_place(where, c));
    grown->eval();
    std::vector<int64_t> layers = c.decoder_layers;
    layers[where == "lower" ? 0 : std::stoll(where.substr(6)) + 1] += 1;
    EXPECT_EQ(grown->config.decoder_layers, layers);
    auto p = grown->named_parameters();
    const std::string copied = prefix.substr(0, prefix.size() - 2) + "0.";  // the layer it copies
    EXPECT_TRUE(torch::equal(p[prefix + "self_attn.q_proj.weight"], p[copied + "self_attn.q_proj.weight"]));
    EXPECT_EQ(p[prefix + "self_attn.o_proj.weight"].abs().sum().item<float>(), 0.0f);
    EXPECT_EQ(p[prefix + "mlp.down_proj.weight"].abs().sum().item<float>(), 0.0f);
    auto out = grown->forward(tokens).logits;
    EXPECT_TRUE(all_close(out, expected, 1e-6, 1e-6));
    out.logsumexp(-1).sum().backward();
    EXPECT_GT(p[prefix + "self_attn.o_proj.weight"].grad().abs().sum().item<float>(), 0.0f);
    EXPECT_GT(p[prefix + "mlp.down_proj.weight"].grad().abs().sum().item<float>(), 0.0f);
  }
}

// The sliding-window baseline (every layer a lower layer) grows at its end too.
TEST(Grow, TheWindowBaselineGrowsAtItsEnd) {
  ModelConfig c = tiny_config();
  c.retrieval = false;
  DrtLM model = make_model(c, 8);
  model->eval();
  auto tokens = random_tokens(1, 4 * c.enc_chunk_size, 4);
  torch::NoGradGuard ng;
  DrtLM grown = grow_model(model, parse_grow_place("lower", c));
  grown->eval();
  EXPECT_EQ(grown->config.num_lower_layers(), c.num_lower_layers() + 1);
  EXPECT_TRUE(all_close(grown->forward(tokens).logits, model->forward(tokens).logits, 1e-6, 1e-6));
  EXPECT_NE(error_of([&] { parse_grow_place("group:0", c); }).find("group:0 is not a group of this model (it has none"), std::string::npos);
}

TEST(Grow, CommandWritesALoadableModelAndRefusesBadPlaces) {
  const std::string dir = temp_dir("grow");
  ModelConfig c = tiny_config();
  c.train_seq_len = 240;
  DrtLM model = make_model(c, 9);
  save_model(dir + "/in", model);
  auto r = run_drt("grow --model " + dir + "/in --out " + dir + "/out --add group:1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  DrtLM loaded = load_model(dir + "/out");
  EXPECT_EQ(loaded->config.decoder_layers, (std::vector<int64_t>{1, 1, 2}));
  EXPECT_EQ(loaded->config.train_seq_len, 240);
  EXPECT_TRUE(std::filesystem::exists(dir + "/out/tokenizer.json"));
  // Grown and given a wider window in one step (the recipe's last stage does both).
  r = run_drt("grow --model " + dir + "/in --out " + dir + "/wide --add lower --set slide_window=" +
              std::to_string(2 * c.block_size()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  DrtLM wide = load_model(dir + "/wide");
  EXPECT_EQ(wide->config.decoder_layers, (std::vector<int64_t>{2, 1, 1}));
  EXPECT_EQ(wide->config.slide_window, 2 * c.block_size());
  auto bad = run_drt("grow --model " + dir + "/in --out " + dir + "/bad --add group:2");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("group:2 is not a group of this model"), std::string::npos) << bad.output;
  EXPECT_NE(error_of([&] { parse_grow_place("group:99999999999999999999", c); }).find("--add must be"),
            std::string::npos);
  auto upper = run_drt("grow --model " + dir + "/in --out " + dir + "/bad --add upper");
  EXPECT_EQ(upper.exit_code, 1);
  EXPECT_NE(upper.output.find("'upper'"), std::string::npos) << upper.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad"));
  std::filesystem::remove_all(dir);
}

// A DRT whose GCA writes nothing computes its window baseline's logits: the baseline keeps
// every shared weight, with the upper groups' layers after the lower stack in order.
TEST(BaselineOf, ADrtWithoutGcaOutputComputesItsWindowBaseline) {
  ModelConfig c = tiny_config();
  c.decoder_layers = {2, 1, 2};  // two lower layers, then groups of one and two layers
  DrtLM model = make_model(c, 11);
  model->eval();
  torch::NoGradGuard ng;
  for (auto& item : model->named_parameters())
    if (item.key().find(".gca.o_proj.") != std::string::npos) item.value().zero_();
  auto tokens = random_tokens(2, 6 * c.enc_chunk_size, 5);
  DrtLM baseline = window_baseline_of(model);
  baseline->eval();
  EXPECT_FALSE(baseline->config.retrieval);
  EXPECT_EQ(baseline->config.num_lower_layers(), 5);
  EXPECT_EQ(baseline->config.slide_window, c.slide_window);
  auto p = model->named_parameters();
  auto q = baseline->named_parameters();
  EXPECT_TRUE(torch::equal(q["model.lower_layers.1.mlp.up_proj.weight"], p["model.lower_layers.1.mlp.up_proj.weight"]));
  EXPECT_TRUE(torch::equal(q["model.lower_layers.2.self_attn.q_proj.weight"], p["model.upper_layers.0.0.self_attn.q_proj.weight"]));
  EXPECT_TRUE(torch::equal(q["model.lower_layers.4.mlp.down_proj.weight"], p["model.upper_layers.1.1.mlp.down_proj.weight"]));
  EXPECT_EQ(q.find("model.encoder.norm.weight"), nullptr);  // the chunk encoder is dropped
  EXPECT_TRUE(all_close(baseline->forward(tokens).logits, model->forward(tokens).logits, 1e-6, 1e-6));
  EXPECT_NE(error_of([&] { window_baseline_of(baseline); }).find("has no retrieval"), std::string::npos);
}

TEST(BaselineOf, CommandWritesALoadableBaseline) {
  const std::string dir = temp_dir("baseline");
  ModelConfig c = tiny_config();
  c.train_seq_len = 240;
  DrtLM model = make_model(c, 12);
  save_model(dir + "/in", model);
  auto r = run_drt("baseline --model " + dir + "/in --out " + dir + "/out");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  DrtLM loaded = load_model(dir + "/out");
  EXPECT_FALSE(loaded->config.retrieval);
  EXPECT_EQ(loaded->config.num_lower_layers(), 3);
  EXPECT_EQ(loaded->config.train_seq_len, 240);
  EXPECT_TRUE(std::filesystem::exists(dir + "/out/tokenizer.json"));
  auto again = run_drt("baseline --model " + dir + "/out --out " + dir + "/bad");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("has no retrieval"), std::string::npos) << again.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace drt::test
