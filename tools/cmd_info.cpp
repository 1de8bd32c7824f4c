// lorat info FILE...: what a checkpoint holds.
#include <iostream>

#include "args.h"
#include "commands.h"
#include "lorat/checkpoint.h"
#include "lorat/error.h"

namespace lorat_cli {

int cmd_info(int argc, char** argv) {
  Args args(argc, argv, {}, {});
  if (args.positional().empty()) throw lorat::Error("usage: lorat info FILE...");
  for (const auto& path : args.positional()) std::cout << lorat::describe_checkpoint(path);
  return 0;
}

}  // namespace lorat_cli
