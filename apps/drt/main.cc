// drt: one program, one subcommand per job. Errors become one line and exit code 1.
#include <cstring>
#include <iostream>
#include <string>

#include "apps/drt/commands.h"
#include "core/error.h"
#include "core/malloc_tuning.h"
#include "core/threads.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int, char**);
};

const Command kCommands[] = {
    {"init", "write a randomly initialised model directory", drt::cli::cmd_init},
    {"export", "copy a model directory with its weights in another dtype (e.g. BF16, for shipping)",
     drt::cli::cmd_export},
    {"grow", "copy a model directory with one more decoder layer that starts as the identity", drt::cli::cmd_grow},
    {"baseline", "copy a DRT model directory as its sliding-window baseline (retrieval off, shared weights kept)",
     drt::cli::cmd_baseline},
    {"forward", "run the batch forward on token ids; write logits and retrievals (safetensors)",
     drt::cli::cmd_forward},
    {"prepare", "tokenize a corpus into token files + manifest", drt::cli::cmd_prepare},
    {"train", "train a model (AdamW, warm-up + cosine, resumable)", drt::cli::cmd_train},
    {"bench", "benchmarks: `drt bench kernels` (fused vs reference), `drt bench infer` (streaming)", drt::cli::cmd_bench},
    {"read", "read a text with a streaming session; save it as a memory file", drt::cli::cmd_read},
    {"generate", "generate text after a prompt and/or a loaded memory file", drt::cli::cmd_generate},
    {"eval", "evaluate: `drt eval ppl` (perplexity by position), `drt eval passkey`, `drt eval plot`", drt::cli::cmd_eval},
    {"probe", "probes: `drt probe copy` (can this config learn to copy through retrieval + GCA?), `drt probe induction` (can this model copy?)",
     drt::cli::cmd_probe},
};

void usage(std::ostream& os) {
  os << "drt — Differentiable Retrieval-based Transformer (GCA), in C++\n\n"
        "usage: drt <command> [flags]     (drt <command> --help for its flags)\n\ncommands:\n";
  for (const auto& c : kCommands) {
    std::string n = c.name;
    os << "  " << n << std::string(n.size() < 10 ? 10 - n.size() : 1, ' ') << c.summary << "\n";
  }
  os << "\nenvironment: DRT_THREADS (intra-op threads, default = cores), DRT_KERNELS=fused|reference,\n"
        "             DRT_MALLOC=system (glibc's own malloc settings; drt keeps freed memory for reuse),\n"
        "             OPENBLAS_CORETYPE (OpenBLAS's: forces its CPU kernels; unset, it picks them by the CPU)\n";
}

}  // namespace

int main(int argc, char** argv) {
  drt::tune_malloc();  // before LibTorch allocates anything large: see core/malloc_tuning.h
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage(std::cout);
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    if (c.run == nullptr) {
      std::cerr << "drt " << name << ": not available in this build\n";
      return 2;
    }
    try {
      drt::set_threads(0);
      return c.run(argc - 1, argv + 1);
    } catch (const drt::Error& e) {
      std::cerr << "drt " << name << ": error: " << e.what() << "\n";
      return 1;
    } catch (const c10::Error& e) {
      std::cerr << "drt " << name << ": error: " << e.what_without_backtrace() << "\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "drt " << name << ": error: " << e.what() << "\n";
      return 1;
    }
  }
  std::cerr << "drt: unknown command '" << name << "'\n\n";
  usage(std::cerr);
  return 2;
}
