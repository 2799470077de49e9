#include <iostream>

#include "apps/drt/commands.h"
#include "config/model_config.h"
#include "core/args.h"
#include "core/error.h"
#include "model/checkpoint.h"

namespace drt::cli {

int cmd_init(int argc, char** argv) {
  Args args("init", "Write a randomly initialised model directory (config.json + model.safetensors).");
  args.required("config", "FILE|NAME", "model config file, or a preset name from configs/ (tiny, small)")
      .option("seed", "N", "initialisation seed", "0")
      .required("out", "DIR", "model directory to write")
      .option("dtype", "F32|F16|BF16", "storage dtype of the weights", "F32");
  if (!args.parse(argc, argv)) return 0;
  ModelConfig config = ModelConfig::preset_or_file(args.get("config"));
  DrtLM model(config);
  model->init_weights(static_cast<uint64_t>(args.get_int("seed")));
  const std::string dt = args.get("dtype");
  at::ScalarType dtype = dt == "F32" ? at::kFloat : dt == "F16" ? at::kHalf : dt == "BF16" ? at::kBFloat16 : at::kByte;
  DRT_CHECK(dtype != at::kByte, "init: --dtype must be F32, F16 or BF16, got '", dt, "'");
  save_model(args.get("out"), model, dtype);
  int64_t n = 0;
  for (const auto& p : model->parameters()) n += p.numel();
  std::cout << "wrote " << args.get("out") << " (" << n << " parameters, " << config.num_groups()
            << " retrieval groups)\n";
  return 0;
}

}  // namespace drt::cli
