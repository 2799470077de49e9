// Model directories: config.json + model.safetensors (+ tokenizer files), with the
// official parameter names so official PyTorch checkpoints saved as safetensors load
// unchanged.
#pragma once
#include <ATen/core/ScalarType.h>

#include <string>

#include "model/drt_model.h"

namespace drt {

constexpr const char* kCheckpointFormatVersion = "1";

// Writes DIR/config.json and DIR/model.safetensors (weights stored as `dtype`: F32, F16 or
// BF16). Creates DIR. Each file is written atomically.
void save_model(const std::string& dir, DrtLM& model, at::ScalarType dtype = at::kFloat);

// Loads DIR (config.json + model.safetensors) into float32 parameters. Missing, extra or
// mis-shaped tensors, a truncated file or a bad header give a drt::Error naming them.
DrtLM load_model(const std::string& dir);

// Copies a state dict into the model, with the checks above. `source` names the file in
// error messages.
void load_state_dict(DrtLM& model, const std::map<std::string, at::Tensor>& tensors, const std::string& source);

// The number of weights in the model (what a model directory's README counts).
int64_t count_parameters(DrtLM& model);

}  // namespace drt
