#include "model/grow.h"

#include <torch/csrc/autograd/grad_mode.h>

#include <map>
#include <vector>

#include "core/error.h"
#include "model/checkpoint.h"

namespace drt {

GrowPlace parse_grow_place(const std::string& where, const ModelConfig& config) {
  const int64_t groups = config.num_groups();
  if (where == "lower") return {0};
  const std::string prefix = "group:";
  if (where.rfind(prefix, 0) == 0 && where.size() > prefix.size() && where.size() <= prefix.size() + 9 &&
      where.find_first_not_of("0123456789", prefix.size()) == std::string::npos) {  // stoll cannot overflow
    const int64_t g = std::stoll(where.substr(prefix.size()));
    DRT_CHECK(groups > 0, "grow: ", where, " is not a group of this model (it has none: retrieval is off)");
    DRT_CHECK(g < groups, "grow: ", where, " is not a group of this model (it has ", groups, " group",
              groups == 1 ? "" : "s", ", group:0 to group:", groups - 1, ")");
    return {g + 1};
  }
  throw Error(str_cat("grow: --add must be lower or group:G, got '", where, "'"));
}

DrtLM grow_model(DrtLM& model, const GrowPlace& place) {
  ModelConfig config = model->config;
  DRT_CHECK(place.stack >= 0 && place.stack < static_cast<int64_t>(config.decoder_layers.size()),
            "grow: stack ", place.stack, " out of range");
  // Without retrieval every decoder layer is a lower layer (ModelConfig::num_lower_layers).
  const int64_t last = (place.stack == 0 ? config.num_lower_layers() : config.decoder_layers[place.stack]) - 1;
  DRT_CHECK(last >= 0, "grow: stack ", place.stack, " has no layer to copy");
  config.decoder_layers[place.stack] += 1;
  // Parameter names as in DESIGN §2: lower layers are numbered through the lower stack,
  // upper layers within their group.
  const std::string stack = place.stack == 0 ? "model.lower_layers."
                                             : str_cat("model.upper_layers.", place.stack - 1, ".");
  const std::string from = str_cat(stack, last, "."), to = str_cat(stack, last + 1, ".");

  torch::NoGradGuard no_grad;
  std::map<std::string, at::Tensor> tensors;
  for (const auto& item : model->named_parameters()) {
    const std::string& key = item.key();
    const at::Tensor value = item.value().detach().clone();
    tensors[key] = value;
    if (key.rfind(from, 0) != 0) continue;
    // The layer copied: its weights again under the new index (load_state_dict copies them
    // into the grown model's own parameters), the residual-stream writers as zeros.
    const std::string part = key.substr(from.size());
    const bool writes_residual = part == "self_attn.o_proj.weight" || part == "gca.o_proj.weight" ||
                                 part == "mlp.down_proj.weight";
    tensors[to + part] = writes_residual ? at::zeros_like(value) : value;
  }
  DrtLM grown(config);
  load_state_dict(grown, tensors, "grow");  // checks that every tensor of the new shape is there
  return grown;
}

DrtLM window_baseline_of(DrtLM& model) {
  ModelConfig config = model->config;
  DRT_CHECK(config.retrieval, "baseline: the model has no retrieval (it is a window baseline already)");
  const int64_t lower = config.num_lower_layers();
  // Layer l of upper group g becomes lower layer `lower + (layers of the groups before g) + l`.
  std::vector<int64_t> first_of_group(config.num_groups());
  for (int64_t g = 0, next = lower; g < config.num_groups(); ++g) {
    first_of_group[g] = next;
    next += config.decoder_layers[g + 1];
  }
  config.retrieval = false;

  torch::NoGradGuard no_grad;
  std::map<std::string, at::Tensor> tensors;
  const std::string upper = "model.upper_layers.";
  for (const auto& item : model->named_parameters()) {
    const std::string& key = item.key();
    if (key.rfind(upper, 0) == 0) {  // model.upper_layers.G.L.PART
      const size_t g_end = key.find('.', upper.size()), l_end = key.find('.', g_end + 1);
      const std::string part = key.substr(l_end + 1);
      if (part.rfind("gca.", 0) == 0) continue;
      const int64_t g = std::stoll(key.substr(upper.size(), g_end - upper.size()));
      const int64_t l = std::stoll(key.substr(g_end + 1, l_end - g_end - 1));
      tensors[str_cat("model.lower_layers.", first_of_group[g] + l, ".", part)] = item.value().detach().clone();
    } else if (key.rfind("model.lower_layers.", 0) == 0 || key.rfind("model.embed_tokens.", 0) == 0 ||
               key.rfind("model.norm.", 0) == 0 || key.rfind("lm_head.", 0) == 0) {
      tensors[key] = item.value().detach().clone();
    }  // the rest (chunk encoder, its projections, the retriever's norms) has no place in a baseline
  }
  DrtLM baseline(config);
  load_state_dict(baseline, tensors, "baseline");  // checks that every tensor of the baseline is there
  return baseline;
}

}  // namespace drt
