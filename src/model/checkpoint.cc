#include "model/checkpoint.h"

#include <torch/torch.h>

#include <set>

#include "core/error.h"
#include "io/file_util.h"
#include "io/safetensors.h"

namespace drt {

void save_model(const std::string& dir, DrtLM& model, at::ScalarType dtype) {
  DRT_CHECK(dtype == at::kFloat || dtype == at::kHalf || dtype == at::kBFloat16,
            "save_model: weights can be stored as F32, F16 or BF16, not ", c10::toString(dtype));
  make_directories(dir);
  std::map<std::string, at::Tensor> tensors;
  for (const auto& item : model->named_parameters()) tensors[item.key()] = item.value().detach().to(dtype);
  write_safetensors(dir + "/model.safetensors", tensors,
                    {{"format", "drt"}, {"format_version", kCheckpointFormatVersion}});
  model->config.save(dir + "/config.json");
}

void load_state_dict(DrtLM& model, const std::map<std::string, at::Tensor>& tensors, const std::string& source) {
  torch::NoGradGuard no_grad;
  auto params = model->named_parameters();
  auto buffers = model->named_buffers();
  std::vector<std::string> missing, extra;
  for (const auto& item : params) {
    auto it = tensors.find(item.key());
    if (it == tensors.end()) {
      missing.push_back(item.key());
      continue;
    }
    DRT_CHECK(it->second.sizes() == item.value().sizes(), source, ": tensor '", item.key(), "' has shape ",
              it->second.sizes(), ", the config needs ", item.value().sizes());
    item.value().copy_(it->second.to(item.value().scalar_type()));
  }
  for (const auto& [name, t] : tensors) {
    if (params.contains(name)) continue;
    if (buffers.contains(name)) {
      // Official checkpoints carry the ALiBi slopes: they must be the ones we compute.
      const auto& ours = buffers[name];
      DRT_CHECK(t.sizes() == ours.sizes() && torch::allclose(t.to(torch::kFloat32), ours.to(torch::kFloat32), 1e-3, 1e-6),
                source, ": buffer '", name, "' = ", t.to(torch::kFloat32), " differs from the expected ", ours);
      continue;
    }
    if (name == "lm_head.weight" && model->config.tie_word_embeddings) {
      const auto& emb = params["model.embed_tokens.weight"];
      DRT_CHECK(t.sizes() == emb.sizes() && torch::equal(t.to(emb.scalar_type()), emb), source,
                ": lm_head.weight differs from model.embed_tokens.weight but tie_word_embeddings is true");
      continue;
    }
    extra.push_back(name);
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size() && i < 8; ++i) s += (i ? ", " : "") + v[i];
    if (v.size() > 8) s += str_cat(", ... (", v.size(), " in all)");
    return s;
  };
  DRT_CHECK(missing.empty(), source, ": missing tensors: ", join(missing));
  DRT_CHECK(extra.empty(), source, ": tensors the config has no place for: ", join(extra));
}

DrtLM load_model(const std::string& dir) {
  DRT_CHECK(is_directory(dir), "model directory ", dir, " does not exist");
  const std::string config_path = dir + "/config.json";
  const std::string weights_path = dir + "/model.safetensors";
  DRT_CHECK(file_exists(config_path), dir, " has no config.json");
  DRT_CHECK(file_exists(weights_path), dir, " has no model.safetensors");
  ModelConfig config = ModelConfig::load(config_path);
  DrtLM model(config);
  SafetensorsFile file = read_safetensors(weights_path);
  load_state_dict(model, file.tensors, weights_path);
  model->eval();
  return model;
}

int64_t count_parameters(DrtLM& model) {
  int64_t n = 0;
  for (const auto& p : model->parameters()) n += p.numel();
  return n;
}

}  // namespace drt
