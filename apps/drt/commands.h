// The `drt` subcommands. Each lives in its own cmd_<name>.cc and is listed once in
// main.cc's table. A command returns the process exit code; drt::Error thrown from it
// becomes one "drt <cmd>: error: ..." line and exit code 1.
#pragma once

namespace drt::cli {

int cmd_init(int argc, char** argv);
int cmd_export(int argc, char** argv);
int cmd_grow(int argc, char** argv);
int cmd_baseline(int argc, char** argv);
int cmd_forward(int argc, char** argv);
int cmd_train(int argc, char** argv);
int cmd_prepare(int argc, char** argv);
int cmd_bench(int argc, char** argv);
// Streaming inference (src/engine) and evaluation (src/eval).
int cmd_read(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_eval(int argc, char** argv);
// `drt probe copy`: a fast training experiment (src/probe).
int cmd_probe(int argc, char** argv);
// `drt bench infer`, defined in cmd_eval.cc; cmd_bench dispatches "infer" to it.
int cmd_bench_infer(int argc, char** argv);

}  // namespace drt::cli
