// The `drt` subcommands. Each lives in its own cmd_<name>.cc and is listed once in
// main.cc's table. A command returns the process exit code; drt::Error thrown from it
// becomes one "drt <cmd>: error: ..." line and exit code 1.
#pragma once

namespace drt::cli {

int cmd_init(int argc, char** argv);
int cmd_forward(int argc, char** argv);
int cmd_train(int argc, char** argv);
int cmd_prepare(int argc, char** argv);

}  // namespace drt::cli
