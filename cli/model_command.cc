// fsc model: commands on trained model folders. `fsc model diff A B` compares two checkpoints'
// weights (e.g. a data-parallel run against a single-process one).
#include <cstdio>
#include <iostream>

#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "core/train/model_diff.h"
#include "core/util/flags.h"

namespace fsc::cli {
namespace {

int RunModelDiff(const Args& args) {
  bool json = false, optimizer = false, all = false, per_tensor = false;
  double tolerance = 1e-5;
  util::FlagSet flags(
      "fsc model diff", "MODEL_A MODEL_B [--tolerance T] [--json]",
      "Compares the weights of two model folders (or snapshots) tensor by tensor: the largest\n"
      "absolute difference, and the relative one (||a - b|| / max(||a||, ||b||), L2 norms) per\n"
      "tensor and over all tensors together (the one --tolerance applies to; --per-tensor\n"
      "applies it to every tensor).\n"
      "Exit status: 0 the same within --tolerance (relative), 1 different (or different\n"
      "tensors), 2 usage or unreadable checkpoints.");
  flags.Double("tolerance", 0, &tolerance, "largest relative difference that counts as the same");
  flags.Bool("optimizer", 0, &optimizer, "also compare the optimiser state");
  flags.Bool("per-tensor", 0, &per_tensor, "every tensor within --tolerance, not just the whole");
  flags.Bool("all", 0, &all, "list every tensor (default: the 10 farthest apart)");
  flags.Bool("json", 0, &json, "print the comparison as JSON on stdout");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (positional.size() != 2) {
    std::cerr << "fsc model diff: needs two model folders (see 'fsc model diff --help')\n";
    return 2;
  }
  if (!(tolerance >= 0)) {
    std::cerr << "fsc model diff: --tolerance must be >= 0\n";
    return 2;
  }
  absl::StatusOr<train::ModelDiff> diff =
      train::DiffCheckpoints(positional[0], positional[1], optimizer);
  if (!diff.ok()) {
    std::cerr << "fsc model diff: " << diff.status().message() << "\n";
    return 2;
  }
  const bool same = diff->Within(tolerance, per_tensor);
  if (json) {
    std::cout << train::ModelDiffToJson(*diff, tolerance, per_tensor).dump(2) << "\n";
  } else {
    std::vector<train::TensorDiff> sorted = diff->tensors;
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& x, const auto& y) { return x.relative > y.relative; });
    if (!all && sorted.size() > 10) sorted.resize(10);
    std::printf("%-48s %12s %12s %12s\n", "tensor", "elements", "max |a-b|", "relative");
    for (const train::TensorDiff& d : sorted) {
      std::printf("%-48s %12lld %12.3g %12.3g\n", d.name.c_str(),
                  static_cast<long long>(d.elements), d.max_abs, d.relative);
    }
    for (const auto& n : diff->only_in_a) std::printf("only in A: %s\n", n.c_str());
    for (const auto& n : diff->only_in_b) std::printf("only in B: %s\n", n.c_str());
    for (const auto& n : diff->shape_mismatch) std::printf("different shapes: %s\n", n.c_str());
    std::printf(
        "%zu tensors; iterations %lld and %lld; max |a-b| %.3g, largest relative %.3g (overall "
        "%.3g): %s (tolerance %.3g)\n",
        diff->tensors.size(), static_cast<long long>(diff->iteration_a),
        static_cast<long long>(diff->iteration_b), diff->max_abs, diff->max_relative,
        diff->overall_relative, same ? "same" : "different", tolerance);
  }
  return same ? 0 : 1;
}

}  // namespace

int RunModelCommand(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: fsc model SUBCOMMAND [options]\n\n"
                 "subcommands:\n"
                 "  diff         compare the weights of two model folders\n";
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "diff") return RunModelDiff(Args(args.begin() + 1, args.end()));
  std::cerr << "fsc model: unknown subcommand '" << args[0] << "' (see 'fsc model --help')\n";
  return 2;
}

}  // namespace fsc::cli
