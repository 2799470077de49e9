#include "engine/model_files.h"

#include "core/error.h"
#include "io/file_util.h"

namespace drt {

std::unique_ptr<Tokenizer> load_model_tokenizer(const std::string& model_dir, const ModelConfig& config) {
  std::unique_ptr<Tokenizer> tok;
  if (file_exists(model_dir + "/tokenizer.json")) {
    tok = load_tokenizer(model_dir);
  } else {
    DRT_CHECK(config.vocab_size == 259 && config.chunk_id == 258, "model directory ", model_dir,
              " has no tokenizer.json, and its vocabulary (", config.vocab_size,
              " ids) is not the bytes tokenizer's (259)");
    tok = make_tokenizer("bytes");
  }
  DRT_CHECK(tok->vocab_size() == config.vocab_size && tok->chunk_id() == config.chunk_id, "model directory ",
            model_dir, ": its tokenizer (", tok->spec(), ", ", tok->vocab_size(), " ids, landmark ", tok->chunk_id(),
            ") does not match config.json (", config.vocab_size, " ids, landmark ", config.chunk_id, ")");
  return tok;
}

Session open_session(DrtLM model, const MemorySpec& memory, const std::string& load_path, SessionOptions options) {
  if (!load_path.empty()) return Session::load(std::move(model), load_path, memory, options);
  const ModelConfig& c = model->config;
  return Session(model, make_chunk_store(memory, c.enc_chunk_size, c.hidden_size), options);
}

}  // namespace drt
