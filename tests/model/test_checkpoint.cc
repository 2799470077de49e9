// Model directories: round trip, and clear errors for bad checkpoints.
#include <filesystem>
#include <fstream>

#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "support/test_util.h"

namespace drt::test {
namespace {

TEST(Checkpoint, RoundTripGivesBitIdenticalLogits) {
  ModelConfig c = tiny_config();
  DrtLM model = make_model(c, 42);
  const std::string dir = temp_dir("ckpt");
  save_model(dir, model);
  DrtLM loaded = load_model(dir);
  auto tokens = random_tokens(1, 4 * c.enc_chunk_size, 1);
  torch::NoGradGuard ng;
  EXPECT_TRUE(torch::equal(model->forward(tokens).logits, loaded->forward(tokens).logits));
  EXPECT_EQ(loaded->config.to_json(), c.to_json());
}

TEST(Checkpoint, HalfPrecisionStorageLoadsIntoFloat32) {
  ModelConfig c = tiny_config();
  DrtLM model = make_model(c, 42);
  const std::string dir = temp_dir("ckpt_bf16");
  save_model(dir, model, at::kBFloat16);
  auto file = read_safetensors(dir + "/model.safetensors");
  EXPECT_EQ(file.tensors.at("model.norm.weight").scalar_type(), at::kBFloat16);
  DrtLM loaded = load_model(dir);
  auto w = loaded->named_parameters()["model.embed_tokens.weight"];
  EXPECT_EQ(w.scalar_type(), at::kFloat);
  EXPECT_TRUE(torch::equal(w, model->named_parameters()["model.embed_tokens.weight"].to(at::kBFloat16).to(at::kFloat)));
}

// `drt export`: BF16 weights (half the bytes), the same config (incl. train_seq_len) and
// tokenizer, the training log carried over; exporting onto itself is refused.
TEST(Checkpoint, ExportCommandWritesAHalfSizeCopy) {
  const std::string dir = temp_dir("export");
  ModelConfig c = tiny_config();
  c.train_seq_len = 240;
  DrtLM model = make_model(c, 5);
  save_model(dir + "/in", model);
  { std::ofstream(dir + "/in/train_log.jsonl") << "{\"step\":1}\n"; }
  auto r = run_drt("export --model " + dir + "/in --out " + dir + "/out --dtype BF16");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_LT(std::filesystem::file_size(dir + "/out/model.safetensors"),
            std::filesystem::file_size(dir + "/in/model.safetensors") * 6 / 10);
  EXPECT_TRUE(std::filesystem::exists(dir + "/out/train_log.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/out/tokenizer.json"));
  DrtLM loaded = load_model(dir + "/out");
  EXPECT_EQ(loaded->config.to_json(), c.to_json());
  auto w = loaded->named_parameters()["model.embed_tokens.weight"];
  EXPECT_TRUE(torch::equal(w, model->named_parameters()["model.embed_tokens.weight"].to(at::kBFloat16).to(at::kFloat)));
  auto self = run_drt("export --model " + dir + "/in --out " + dir + "/in");
  EXPECT_EQ(self.exit_code, 1);
  EXPECT_NE(self.output.find("itself"), std::string::npos) << self.output;

  // --set: the copy reads with k = 1 and the weights are the same tensors.
  r = run_drt("export --model " + dir + "/in --out " + dir + "/k1 --dtype F32 --set chunk_topk=1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  DrtLM k1 = load_model(dir + "/k1");
  EXPECT_EQ(k1->config.chunk_topk, 1);
  EXPECT_EQ(k1->config.train_seq_len, 240);
  EXPECT_TRUE(torch::equal(k1->named_parameters()["model.chunk_k_proj.weight"],
                           model->named_parameters()["model.chunk_k_proj.weight"]));
  // A key that shapes weights is refused, and nothing is written.
  auto bad = run_drt("export --model " + dir + "/in --out " + dir + "/bad --set hidden_size=128");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("export: --set hidden_size: not a setting"), std::string::npos) << bad.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad"));
  std::filesystem::remove_all(dir);
}

TEST(Checkpoint, OfficialParameterNames) {
  DrtLM model = make_model(tiny_config());
  auto p = model->named_parameters();
  for (const char* name :
       {"model.embed_tokens.weight", "model.lower_layers.0.self_attn.q_proj.weight",
        "model.lower_layers.0.mlp.gate_proj.weight", "model.lower_layers.0.input_layernorm.weight",
        "model.lower_layers.0.post_attention_layernorm.weight", "model.upper_layers.1.0.gca.pre_norm.weight",
        "model.upper_layers.0.0.gca.q_proj.weight", "model.upper_layers.0.0.gca.o_proj.weight",
        "model.upper_layers.0.0.self_attn.o_proj.weight", "model.encoder.layers.0.self_attn.k_proj.weight",
        "model.encoder.norm.weight", "model.enc_prenorm.weight", "model.chunk_k_proj.weight",
        "model.chunk_v_proj.weight", "model.lmk_norms.1.weight", "model.norm.weight"})
    EXPECT_TRUE(p.contains(name)) << name;
  EXPECT_FALSE(p.contains("lm_head.weight"));  // tied
}

class BadCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = make_model(tiny_config(), 1);
    dir_ = temp_dir("bad");
    save_model(dir_, model_);
    tensors_ = read_safetensors(dir_ + "/model.safetensors").tensors;
  }
  std::string load_error() {
    return error_of([&] { load_model(dir_); });
  }
  void rewrite() { write_safetensors(dir_ + "/model.safetensors", tensors_); }
  DrtLM model_{nullptr};
  std::string dir_;
  std::map<std::string, at::Tensor> tensors_;
};

TEST_F(BadCheckpoint, MissingTensorIsNamed) {
  tensors_.erase("model.chunk_k_proj.weight");
  rewrite();
  EXPECT_NE(load_error().find("missing tensors: model.chunk_k_proj.weight"), std::string::npos) << load_error();
}

TEST_F(BadCheckpoint, ExtraTensorIsNamed) {
  tensors_["model.mystery.weight"] = torch::zeros({3});
  rewrite();
  EXPECT_NE(load_error().find("model.mystery.weight"), std::string::npos) << load_error();
}

TEST_F(BadCheckpoint, MisShapedTensorIsNamedWithBothShapes) {
  tensors_["model.norm.weight"] = torch::ones({65});
  rewrite();
  auto e = load_error();
  EXPECT_NE(e.find("'model.norm.weight' has shape [65]"), std::string::npos) << e;
  EXPECT_NE(e.find("[64]"), std::string::npos) << e;
}

TEST_F(BadCheckpoint, OfficialAlibiBuffersAndTiedHeadAreAccepted) {
  tensors_["model.lower_layers.0.self_attn.m"] = alibi_slopes(2);
  tensors_["lm_head.weight"] = tensors_["model.embed_tokens.weight"].clone();
  rewrite();
  EXPECT_EQ(load_error(), "");
  tensors_["model.lower_layers.0.self_attn.m"] = torch::ones({2});
  rewrite();
  EXPECT_NE(load_error().find("self_attn.m"), std::string::npos);
}

TEST_F(BadCheckpoint, TruncatedFile) {
  auto bytes = read_binary_file(dir_ + "/model.safetensors");
  write_file_atomic(dir_ + "/model.safetensors", bytes.data(), bytes.size() - 100);
  EXPECT_NE(load_error().find("truncated"), std::string::npos) << load_error();
  write_file_atomic(dir_ + "/model.safetensors", bytes.data(), 5);
  EXPECT_NE(load_error().find("truncated"), std::string::npos) << load_error();
}

TEST_F(BadCheckpoint, BadHeader) {
  std::string junk = std::string("\x10\0\0\0\0\0\0\0", 8) + "{not json at all";
  write_file_atomic(dir_ + "/model.safetensors", junk);
  EXPECT_NE(load_error().find("bad safetensors header"), std::string::npos) << load_error();
  std::string huge = std::string("\xff\xff\xff\xff\0\0\0\0", 8) + "{}";
  write_file_atomic(dir_ + "/model.safetensors", huge);
  EXPECT_NE(load_error().find("runs past the end"), std::string::npos) << load_error();
}

TEST_F(BadCheckpoint, MissingFilesAndDirectory) {
  EXPECT_NE(error_of([] { load_model("/nonexistent/model"); }).find("does not exist"), std::string::npos);
  std::remove((dir_ + "/model.safetensors").c_str());
  EXPECT_NE(load_error().find("no model.safetensors"), std::string::npos);
}

}  // namespace
}  // namespace drt::test
