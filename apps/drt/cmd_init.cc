#include <filesystem>
#include <functional>
#include <iostream>

#include "apps/drt/commands.h"
#include "config/model_config.h"
#include "core/args.h"
#include "core/error.h"
#include "engine/model_files.h"
#include "model/checkpoint.h"
#include "model/grow.h"

namespace drt::cli {

namespace {

// --dtype of the stored weights: F32, F16 or BF16.
at::ScalarType parse_weight_dtype(const std::string& command, const std::string& dt) {
  if (dt == "F32") return at::kFloat;
  if (dt == "F16") return at::kHalf;
  if (dt == "BF16") return at::kBFloat16;
  throw Error(str_cat(command, ": --dtype must be F32, F16 or BF16, got '", dt, "'"));
}

// --out must not be --model itself: writing it would replace the weights being read.
void check_out_is_not_model(const std::string& command, const std::string& in, const std::string& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  DRT_CHECK(!(fs::exists(out) && fs::equivalent(in, out, ec)), command, ": --out ", out,
            " is the model directory itself");
}

// --set of the model-directory copies: settings that change no weight, applied to the copy.
const char* const kSetHelp =
    "settings to change in the copy's config.json: chunk_topk, slide_window, train_seq_len (e.g. chunk_topk=1; "
    "no weight depends on them)";

// The model-directory copies (export, grow, baseline): reads --model, makes the model to
// write with `make` (given the model read), applies --set to its config, and writes it and
// the tokenizer to --out in --dtype. --out may not be --model. Every check runs before
// anything is written.
DrtLM copy_model_dir(const std::string& command, const Args& args, const std::function<DrtLM(DrtLM&)>& make) {
  const std::string in = args.get("model"), out = args.get("out");
  check_out_is_not_model(command, in, out);
  const at::ScalarType dtype = parse_weight_dtype(command, args.get("dtype"));
  DrtLM model = load_model(in);
  auto tokenizer = load_model_tokenizer(in, model->config);
  DrtLM written = make(model);
  if (auto set = args.get_optional("set")) {
    try {
      written->config = written->config.with_settings(*set);
    } catch (const Error& e) {
      throw Error(str_cat(command, ": ", e.what()));
    }
  }
  save_model(out, written, dtype);
  tokenizer->save(out);
  return written;
}

}  // namespace

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
  const at::ScalarType dtype = parse_weight_dtype("init", args.get("dtype"));
  save_model(args.get("out"), model, dtype);
  std::cout << "wrote " << args.get("out") << " (" << count_parameters(model) << " parameters, " << config.num_groups()
            << " retrieval groups)\n";
  return 0;
}

int cmd_export(int argc, char** argv) {
  Args args("export",
            "Copy a model directory with its weights stored in another dtype (e.g. BF16, half the size), for\n"
            "shipping: config.json, model.safetensors, and the tokenizer, training log and loss curve when\n"
            "present. Not the optimizer or training state.");
  args.required("model", "DIR", "model directory to read")
      .required("out", "DIR", "model directory to write (must differ from --model)")
      .option("dtype", "F32|F16|BF16", "storage dtype of the weights", "BF16")
      .option("set", "KEY=VALUE,...", kSetHelp);
  if (!args.parse(argc, argv)) return 0;
  namespace fs = std::filesystem;
  const std::string in = args.get("model"), out = args.get("out");
  copy_model_dir("export", args, [](DrtLM& model) { return model; });
  for (const char* name : {"train_log.jsonl", "loss.png"}) {
    const fs::path from = fs::path(in) / name;
    if (fs::exists(from)) fs::copy_file(from, fs::path(out) / name, fs::copy_options::overwrite_existing);
  }
  std::cout << "wrote " << out << " (weights as " << args.get("dtype") << ", "
            << fs::file_size(fs::path(out) / "model.safetensors") / 1024 << " KiB)\n";
  return 0;
}

int cmd_grow(int argc, char** argv) {
  Args args("grow",
            "Copy a model directory with one more decoder layer that starts as the identity: a copy of the\n"
            "last layer of its stack with the projections that write to the residual stream (self-attention's\n"
            "and GCA's o_proj, the MLP's down_proj) zeroed, so the grown model computes what the model did\n"
            "until training moves them. For adding capacity to a trained model without repeating its stages.\n"
            "Writes config.json (decoder_layers one higher there), model.safetensors and the tokenizer.");
  args.required("model", "DIR", "model directory to read")
      .required("out", "DIR", "model directory to write (must differ from --model)")
      .required("add", "lower|group:G", "lower: after the lower stack's last layer (the chunk encoder then reads "
                "its output); group:G: after upper group G's last layer (sharing its retrieval)")
      .option("dtype", "F32|F16|BF16", "storage dtype of the weights", "F32")
      .option("set", "KEY=VALUE,...", kSetHelp);
  if (!args.parse(argc, argv)) return 0;
  DrtLM grown = copy_model_dir("grow", args, [&](DrtLM& model) {
    return grow_model(model, parse_grow_place(args.get("add"), model->config));
  });
  std::cout << "wrote " << args.get("out") << " (decoder_layers";
  for (int64_t n : grown->config.decoder_layers) std::cout << " " << n;
  std::cout << "; the new layer's outputs are zero)\n";
  return 0;
}

int cmd_baseline(int argc, char** argv) {
  Args args("baseline",
            "Copy a DRT model directory as its sliding-window baseline: the same decoder layers, window and\n"
            "tokenizer with retrieval off (no chunk encoder, retriever or GCA), every weight the two share\n"
            "copied (the upper groups' layers follow the lower stack, in order). Train both from there on the\n"
            "same data to measure what retrieval adds with nothing else between them.");
  args.required("model", "DIR", "DRT model directory to read (retrieval on)")
      .required("out", "DIR", "model directory to write (must differ from --model)")
      .option("dtype", "F32|F16|BF16", "storage dtype of the weights", "F32")
      .option("set", "KEY=VALUE,...", kSetHelp);
  if (!args.parse(argc, argv)) return 0;
  int64_t model_parameters = 0;
  DrtLM baseline = copy_model_dir("baseline", args, [&](DrtLM& model) {
    model_parameters = count_parameters(model);
    return window_baseline_of(model);
  });
  std::cout << "wrote " << args.get("out") << " (" << baseline->config.num_lower_layers() << " decoder layers, window "
            << baseline->config.slide_window << ", " << count_parameters(baseline) << " parameters of the model's "
            << model_parameters << ")\n";
  return 0;
}

}  // namespace drt::cli
