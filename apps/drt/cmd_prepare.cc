#include <chrono>
#include <cstdio>
#include <iostream>

#include "apps/drt/commands.h"
#include "core/args.h"
#include "core/error.h"
#include "data/corpus.h"

namespace drt::cli {

int cmd_prepare(int argc, char** argv) {
  Args args("prepare",
            "Tokenize a corpus into DIR/train.bin, DIR/valid.bin (+ .idx document starts), DIR/manifest.json and\n"
            "the tokenizer files. Inputs are text files, folders (every file below, sorted) or the built-in\n"
            "corpora kjv (King James Bible, one document per book) and brown (Brown corpus, one per file);\n"
            "scripts/setup_data.sh installs those.");
  args.multi("input", "PATH|kjv|brown", "text files, folders or built-in corpora (several allowed)")
      .required("tokenizer", "bytes|gpt2|spm:N", "tokenizer; spm:N trains N SentencePiece pieces on the corpus")
      .required("out", "DIR", "output directory")
      .option("valid-fraction", "F", "fraction of documents held out for validation", "0.05")
      .option("seed", "N", "seed of the train/valid split", "0")
      .flag("quiet", "no progress output on stderr");
  if (!args.parse(argc, argv, 1)) return 0;

  PrepareOptions options;
  options.inputs = args.get_multi("input");
  DRT_CHECK(!options.inputs.empty(), "prepare: --input PATH is required (see --help)");
  options.tokenizer_spec = args.get("tokenizer");
  options.out_dir = args.get("out");
  options.valid_fraction = args.get_double("valid-fraction");
  const int64_t seed = args.get_int("seed");
  DRT_CHECK(seed >= 0, "prepare: --seed must be non-negative, got ", seed);
  options.seed = static_cast<uint64_t>(seed);
  options.progress = !args.get_flag("quiet");

  const auto start = std::chrono::steady_clock::now();
  const CorpusManifest m = prepare_corpus(options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const SplitInfo& train = m.splits.at("train");
  const SplitInfo& valid = m.splits.at("valid");
  char timing[32];
  std::snprintf(timing, sizeof timing, "%.1f", seconds);
  std::cout << "wrote " << options.out_dir << ": " << m.tokenizer_spec << " (vocab " << m.vocab_size << ", "
            << m.dtype << "), train " << train.documents << " documents / " << train.tokens << " tokens, valid "
            << valid.documents << " documents / " << valid.tokens << " tokens in " << timing << " s\n";
  return 0;
}

}  // namespace drt::cli
