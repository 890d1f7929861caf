// fsc: the client command line. Dispatches the verb to its handler in cli/*_command.cc.
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/util/malloc_tuning.h"

int main(int argc, char** argv) {
  fsc::util::KeepFreedMemoryForReuse();
  std::vector<std::string> args(argv + 1, argv + argc);
  return fsc::cli::Dispatch(args);
}
