#include "config/model_config.h"

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "core/args.h"
#include "core/error.h"
#include "io/file_util.h"

namespace drt {

namespace {

// Keys of the official config.json files that do not change the computation.
const std::set<std::string>& ignored_official_keys() {
  static const std::set<std::string> keys = {
      "activation_function", "architectures", "mask_id", "max_position_embeddings", "model_type",
      "num_hidden_layers", "mask_probability", "rope_scaling", "rope_theta", "torch_dtype",
      "transformers_version", "use_cache", "output_hidden_states", "hidden_dropout_prob",
      "chunk_window", "hcca_per_nlayers", "chunk_causal_window", "enable_causal_chunk_attn",
      "_flash_attn_2_enabled", "_triton_gca", "_name_or_path", "bos_token_id", "eos_token_id",
      "pad_token_id", "attention_dropout", "dec_chunk_size", "output_attentions",
      "return_dict", "is_causal"};
  return keys;
}

template <typename T>
T get_as(const nlohmann::json& j, const std::string& key) {
  try {
    return j.get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(str_cat("config key '", key, "' has value ", j.dump(), " of the wrong type"));
  }
}

}  // namespace

int64_t ModelConfig::num_lower_layers() const {
  if (retrieval) return decoder_layers.empty() ? 0 : decoder_layers[0];
  int64_t n = 0;
  for (int64_t l : decoder_layers) n += l;
  return n;
}

void ModelConfig::validate() const {
  DRT_CHECK(hidden_size > 0, "hidden_size must be positive, got ", hidden_size);
  DRT_CHECK(num_attention_heads > 0, "num_attention_heads must be positive, got ", num_attention_heads);
  DRT_CHECK(hidden_size % num_attention_heads == 0, "hidden_size ", hidden_size,
            " is not divisible by num_attention_heads ", num_attention_heads);
  DRT_CHECK(head_dim() % 2 == 0, "head dim hidden_size/num_attention_heads = ", head_dim(),
            " must be even (RoPE rotates pairs)");
  DRT_CHECK(intermediate_size > 0, "intermediate_size must be positive, got ", intermediate_size);
  DRT_CHECK(vocab_size > 0, "vocab_size must be positive, got ", vocab_size);
  DRT_CHECK(rms_norm_eps > 0, "rms_norm_eps must be positive, got ", rms_norm_eps);
  DRT_CHECK(enc_chunk_size > 0, "enc_chunk_size must be positive, got ", enc_chunk_size);
  DRT_CHECK(slide_window == -1 || slide_window > 0, "slide_window must be -1 (full) or positive, got ",
            slide_window);
  DRT_CHECK(!decoder_layers.empty(), "decoder_layers must not be empty");
  for (size_t i = 0; i < decoder_layers.size(); ++i)
    DRT_CHECK(decoder_layers[i] >= 0, "decoder_layers[", i, "] = ", decoder_layers[i], " is negative");
  for (int64_t id : {pad_id, bos_id, chunk_id})
    DRT_CHECK(id >= 0 && id < vocab_size, "special token id ", id, " is outside the vocabulary [0, ",
              vocab_size, ")");
  DRT_CHECK(initializer_range > 0, "initializer_range must be positive, got ", initializer_range);
  if (retrieval) {
    DRT_CHECK(decoder_layers.size() >= 2, "decoder_layers = [lower, group 1, ...] needs at least one ",
              "retrieval group, got ", decoder_layers.size() - 1, " (set \"retrieval\": false for the ",
              "sliding-window baseline)");
    DRT_CHECK(chunk_topk > 0, "chunk_topk must be positive, got ", chunk_topk);
    DRT_CHECK(encoder_layers >= 0, "encoder_layers must be >= 0, got ", encoder_layers);
    // The chunk just before a query's chunk is read through the window, not retrieved.
    DRT_CHECK(slide_window == -1 || slide_window >= enc_chunk_size + 1, "slide_window ", slide_window,
              " is smaller than a chunk (enc_chunk_size + 1 = ", enc_chunk_size + 1, ")");
  }
  if (train_seq_len) DRT_CHECK(*train_seq_len > 0, "train_seq_len must be positive, got ", *train_seq_len);
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  DRT_CHECK(j.is_object(), "a model config must be a JSON object, got ", j.type_name());
  ModelConfig c;
  for (const auto& [key, v] : j.items()) {
    if (key == "hidden_size") c.hidden_size = get_as<int64_t>(v, key);
    else if (key == "num_attention_heads") c.num_attention_heads = get_as<int64_t>(v, key);
    else if (key == "intermediate_size") c.intermediate_size = get_as<int64_t>(v, key);
    else if (key == "vocab_size") c.vocab_size = get_as<int64_t>(v, key);
    else if (key == "rms_norm_eps") c.rms_norm_eps = get_as<double>(v, key);
    else if (key == "chunk_topk") c.chunk_topk = get_as<int64_t>(v, key);
    else if (key == "slide_window") c.slide_window = get_as<int64_t>(v, key);
    else if (key == "encoder_layers") c.encoder_layers = get_as<int64_t>(v, key);
    else if (key == "decoder_layers") c.decoder_layers = get_as<std::vector<int64_t>>(v, key);
    else if (key == "enc_chunk_size") c.enc_chunk_size = get_as<int64_t>(v, key);
    else if (key == "enable_alibi") c.enable_alibi = get_as<bool>(v, key);
    else if (key == "enable_softmax_one") c.enable_softmax_one = get_as<bool>(v, key);
    else if (key == "tie_word_embeddings") c.tie_word_embeddings = get_as<bool>(v, key);
    else if (key == "pad_id") c.pad_id = get_as<int64_t>(v, key);
    else if (key == "bos_id") c.bos_id = get_as<int64_t>(v, key);
    else if (key == "chunk_id") c.chunk_id = get_as<int64_t>(v, key);
    else if (key == "initializer_range") c.initializer_range = get_as<double>(v, key);
    else if (key == "gca_null_key") c.gca_null_key = get_as<bool>(v, key);
    else if (key == "gca_residual") c.gca_residual = get_as<bool>(v, key);
    else if (key == "window_rope") c.window_rope = get_as<bool>(v, key);
    else if (key == "retrieval") c.retrieval = get_as<bool>(v, key);
    else if (key == "train_seq_len") c.train_seq_len = get_as<int64_t>(v, key);
    else if (key == "num_key_value_heads") {
      // Checked after the loop, when num_attention_heads is known.
    } else if (key == "attention_bias") {
      DRT_CHECK(!get_as<bool>(v, key), "config key 'attention_bias' = true is not supported (drt's ",
                "projections have no biases)");
    } else if (key == "hidden_act") {
      auto act = get_as<std::string>(v, key);
      DRT_CHECK(act == "silu" || act == "swish", "config key 'hidden_act' = '", act,
                "' is not supported (the MLP is SwiGLU: silu)");
    } else if (key == "pretraining_tp") {
      DRT_CHECK(get_as<int64_t>(v, key) == 1, "config key 'pretraining_tp' must be 1, got ", v.dump());
    } else if (key == "gpt2_mlp") {
      DRT_CHECK(!get_as<bool>(v, key), "config key 'gpt2_mlp' = true is not supported (the MLP is SwiGLU)");
    } else if (ignored_official_keys().count(key) == 0) {
      throw Error(str_cat("unknown config key '", key, "' (value ", v.dump(), ")"));
    }
  }
  if (j.contains("num_key_value_heads") && !j["num_key_value_heads"].is_null()) {
    auto kv = get_as<int64_t>(j["num_key_value_heads"], "num_key_value_heads");
    DRT_CHECK(kv == c.num_attention_heads, "config key 'num_key_value_heads' = ", kv,
              " differs from num_attention_heads = ", c.num_attention_heads,
              " (grouped-query attention is not supported)");
  }
  c.validate();
  return c;
}

nlohmann::json ModelConfig::to_json() const {
  nlohmann::json j;
  j["hidden_size"] = hidden_size;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_attention_heads;
  j["intermediate_size"] = intermediate_size;
  j["vocab_size"] = vocab_size;
  j["rms_norm_eps"] = rms_norm_eps;
  j["chunk_topk"] = chunk_topk;
  j["slide_window"] = slide_window;
  j["encoder_layers"] = encoder_layers;
  j["decoder_layers"] = decoder_layers;
  j["enc_chunk_size"] = enc_chunk_size;
  j["enable_alibi"] = enable_alibi;
  j["enable_softmax_one"] = enable_softmax_one;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["pad_id"] = pad_id;
  j["bos_id"] = bos_id;
  j["chunk_id"] = chunk_id;
  j["initializer_range"] = initializer_range;
  if (gca_null_key) j["gca_null_key"] = *gca_null_key;
  if (gca_residual) j["gca_residual"] = true;
  if (window_rope) j["window_rope"] = true;
  j["retrieval"] = retrieval;
  if (train_seq_len) j["train_seq_len"] = *train_seq_len;
  j["hidden_act"] = "silu";
  j["attention_bias"] = false;
  return j;
}

ModelConfig ModelConfig::with_settings(const std::string& assignments) const {
  static const std::set<std::string> settings = {"chunk_topk", "slide_window", "train_seq_len"};
  nlohmann::json j = to_json();
  const auto parts = split_commas(assignments);
  DRT_CHECK(!parts.empty(), "--set is empty: expected KEY=VALUE, e.g. chunk_topk=1");
  for (const auto& part : parts) {
    const auto eq = part.find('=');
    DRT_CHECK(eq != std::string::npos && eq > 0, "--set expects KEY=VALUE, got '", part, "'");
    const std::string key = part.substr(0, eq), value = part.substr(eq + 1);
    DRT_CHECK(settings.count(key), "--set ", key, ": not a setting that can change without retraining (only ",
              "chunk_topk, slide_window and train_seq_len: no weight's shape depends on them)");
    int64_t v = 0;
    try {
      v = parse_count(value);
    } catch (const Error&) {
      throw Error(str_cat("--set ", key, " expects an integer, got '", value, "'"));
    }
    j[key] = v;
  }
  return from_json(j);  // validates: e.g. slide_window below one chunk block names its value
}

ModelConfig ModelConfig::load(const std::string& path) {
  std::string text = read_text_file(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(str_cat(path, ": not valid JSON: ", e.what()));
  }
  try {
    return from_json(j);
  } catch (const Error& e) {
    throw Error(str_cat(path, ": ", e.what()));
  }
}

void ModelConfig::save(const std::string& path) const {
  write_file_atomic(path, to_json().dump(2) + "\n");
}

ModelConfig ModelConfig::preset_or_file(const std::string& name_or_path) {
  if (name_or_path.find('/') == std::string::npos && name_or_path.find('.') == std::string::npos) {
    std::string path = find_config_preset(name_or_path);
    return load(path);
  }
  return load(name_or_path);
}

}  // namespace drt
