#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/model_config.h"
#include "core/error.h"
#include "io/file_util.h"

namespace drt {
namespace {

std::string config_error(nlohmann::json j) {
  try {
    ModelConfig::from_json(j);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

nlohmann::json tiny_json() { return nlohmann::json::parse(read_text_file(find_config_preset("tiny"))); }

TEST(ModelConfig, PresetsLoadAndValidate) {
  ModelConfig tiny = ModelConfig::preset_or_file("tiny");
  EXPECT_EQ(tiny.hidden_size, 64);
  EXPECT_EQ(tiny.num_attention_heads, 2);
  EXPECT_EQ(tiny.enc_chunk_size, 15);
  EXPECT_EQ(tiny.slide_window, 32);
  EXPECT_EQ(tiny.chunk_topk, 2);
  EXPECT_EQ(tiny.num_groups(), 2);
  EXPECT_FALSE(tiny.null_key());  // (15 + 1) % 64 != 0
  ModelConfig small = ModelConfig::preset_or_file("small");
  EXPECT_EQ(small.enc_chunk_size, 63);
  EXPECT_TRUE(small.null_key());  // (63 + 1) % 64 == 0, as the official kernels
}

// scripts/train_tiny_passkey.sh's model: the shape its results were measured with.
TEST(ModelConfig, TinyPasskeyPresetIsTheMeasuredShape) {
  ModelConfig c = ModelConfig::preset_or_file("tiny-passkey");
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.enc_chunk_size, 63);
  EXPECT_EQ(c.slide_window, 64);
  EXPECT_EQ(c.decoder_layers, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(c.chunk_topk, 2);
  EXPECT_TRUE(c.gca_residual);
  EXPECT_TRUE(c.retrieval);
}

TEST(ModelConfig, JsonRoundTrip) {
  ModelConfig c = ModelConfig::preset_or_file("small");
  c.gca_null_key = false;
  c.train_seq_len = 2048;
  EXPECT_FALSE(c.to_json().contains("gca_residual"));  // the paper's wiring stays unmarked
  c.gca_residual = true;
  ModelConfig back = ModelConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_FALSE(back.null_key());
  EXPECT_TRUE(back.gca_residual);
}

TEST(ModelConfig, OfficialKeysThatDoNotChangeTheComputationAreIgnored) {
  auto j = tiny_json();
  j["architectures"] = {"GPT2LMHeadModel"};
  j["torch_dtype"] = "bfloat16";
  j["_flash_attn_2_enabled"] = true;
  j["_triton_gca"] = true;
  j["use_cache"] = true;
  j["num_key_value_heads"] = 2;
  j["hidden_act"] = "silu";
  EXPECT_EQ(config_error(j), "");
}

TEST(ModelConfig, BadConfigsNameTheKeyAndValue) {
  auto j = tiny_json();
  j["hiden_size"] = 64;
  EXPECT_NE(config_error(j).find("unknown config key 'hiden_size'"), std::string::npos) << config_error(j);

  j = tiny_json();
  j["hidden_size"] = 65;
  EXPECT_NE(config_error(j).find("hidden_size 65 is not divisible by num_attention_heads 2"), std::string::npos)
      << config_error(j);

  j = tiny_json();
  j["decoder_layers"] = {2};
  EXPECT_NE(config_error(j).find("at least one retrieval group"), std::string::npos) << config_error(j);
  j["retrieval"] = false;  // fine for the baseline
  EXPECT_EQ(config_error(j), "");

  j = tiny_json();
  j["slide_window"] = 8;
  EXPECT_NE(config_error(j).find("slide_window 8 is smaller than a chunk"), std::string::npos) << config_error(j);

  j = tiny_json();
  j["chunk_id"] = 300;
  EXPECT_NE(config_error(j).find("special token id 300"), std::string::npos) << config_error(j);

  j = tiny_json();
  j["num_key_value_heads"] = 1;
  EXPECT_NE(config_error(j).find("num_key_value_heads"), std::string::npos) << config_error(j);

  j = tiny_json();
  j["hidden_size"] = "big";
  EXPECT_NE(config_error(j).find("'hidden_size' has value \"big\""), std::string::npos) << config_error(j);
}

// --set of export/grow/baseline: settings change, everything else stays; a shape-bearing key
// or a bad value is refused by name.
TEST(ModelConfig, WithSettingsChangesOnlySettings) {
  const ModelConfig c = ModelConfig::from_json(tiny_json());
  const ModelConfig s = c.with_settings("chunk_topk=1,slide_window=128,train_seq_len=16k");
  EXPECT_EQ(s.chunk_topk, 1);
  EXPECT_EQ(s.slide_window, 128);
  EXPECT_EQ(s.train_seq_len, 16384);
  auto rest = s.to_json(), before = c.to_json();
  for (const char* key : {"chunk_topk", "slide_window", "train_seq_len"}) rest.erase(key), before.erase(key);
  EXPECT_EQ(rest, before);
  EXPECT_EQ(c.with_settings("slide_window=-1").slide_window, -1);  // full causal is a window too

  auto error = [&](const std::string& spec) {
    try {
      c.with_settings(spec);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error("hidden_size=128").find("--set hidden_size: not a setting"), std::string::npos)
      << error("hidden_size=128");
  EXPECT_NE(error("chunk_topk=two").find("--set chunk_topk expects an integer, got 'two'"), std::string::npos)
      << error("chunk_topk=two");
  EXPECT_NE(error("chunk_topk").find("expects KEY=VALUE, got 'chunk_topk'"), std::string::npos);
  EXPECT_NE(error("chunk_topk=0").find("chunk_topk must be positive, got 0"), std::string::npos) << error("chunk_topk=0");
  EXPECT_NE(error("slide_window=8").find("slide_window 8 is smaller than a chunk"), std::string::npos);
}

TEST(ModelConfig, NotJsonNamesTheFile) {
  const std::string path = "/tmp/drt_bad_config.json";
  write_file_atomic(path, "{ hidden_size: ");
  try {
    ModelConfig::load(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

}  // namespace
}  // namespace drt
