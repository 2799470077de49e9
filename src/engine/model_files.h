// What the commands that run a model need besides its weights: its tokenizer, and a
// session that is either new or continues a memory file.
#pragma once
#include <memory>
#include <string>

#include "data/tokenizer.h"
#include "engine/session.h"

namespace drt {

// DIR/tokenizer.json when present. A directory without one (e.g. from `drt init`) whose
// model has the bytes tokenizer's vocabulary (259 ids, landmark 258) uses "bytes";
// otherwise an error. The tokenizer's landmark and vocabulary must match the config.
std::unique_ptr<Tokenizer> load_model_tokenizer(const std::string& model_dir, const ModelConfig& config);

// A new session with chunk memory `memory` when `load_path` is empty, else Session::load
// of that memory file (with `memory` receiving the new chunks).
Session open_session(DrtLM model, const MemorySpec& memory, const std::string& load_path,
                     SessionOptions options = {});

}  // namespace drt
