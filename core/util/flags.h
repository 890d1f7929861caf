// A small declarative command-line parser for fsc's subcommands. Each verb declares its flags
// with a help text; `--help` and unknown or malformed flags are handled the same way everywhere.
//
//   FlagSet flags("fsc extract", "INPUT -o DIR [options]", "Detect, align and crop faces.");
//   flags.String("output", 'o', &output, "folder for the aligned faces");
//   FSC_RETURN_IF_ERROR(flags.Parse(args, &positional));
//   if (flags.help_requested()) { std::cout << flags.Help(); return 0; }
#ifndef FSC_CORE_UTIL_FLAGS_H_
#define FSC_CORE_UTIL_FLAGS_H_

#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace fsc::util {

// The values a number flag accepts, both ends included. A value outside is a usage error that
// names the range, and --help shows it. Double flags never accept NaN or infinities.
struct IntRange {
  int min = std::numeric_limits<int>::min();
  int max = std::numeric_limits<int>::max();
};
struct DoubleRange {
  double min = -std::numeric_limits<double>::max();
  double max = std::numeric_limits<double>::max();
};

class FlagSet {
 public:
  FlagSet(std::string command, std::string usage, std::string description);

  // Registers a flag. `short_name` is 0 for none. The pointee keeps its value as the default.
  void String(const std::string& name, char short_name, std::string* value,
              const std::string& help);
  void Int(const std::string& name, char short_name, int* value, const std::string& help,
           IntRange range = {});
  void Double(const std::string& name, char short_name, double* value, const std::string& help,
              DoubleRange range = {});
  // `--name` sets true, `--no-name` or `--name=false` sets false.
  void Bool(const std::string& name, char short_name, bool* value, const std::string& help);
  // A flag whose value `set` parses and checks itself (INVALID_ARGUMENT naming the flag); --help
  // shows `default_text` and `range_text` when not empty. A bool flag takes no value on the
  // command line: `set` gets "true", or "false" for --no-name.
  void Value(const std::string& name, char short_name, const std::string& help,
             const std::string& default_text, const std::string& range_text, bool is_bool,
             std::function<absl::Status(const std::string&)> set);

  // Parses `args` (the words after the verb). Non-flag words go to `positional`. Returns
  // INVALID_ARGUMENT naming the flag and the command's --help on any problem.
  absl::Status Parse(const std::vector<std::string>& args, std::vector<std::string>* positional);

  // For command-line verbs: parses, then prints the help (exit code 0) or the error (exit code
  // 2). Returns the exit code when the verb should stop, nullopt when it should go on.
  std::optional<int> ParseOrExit(const std::vector<std::string>& args,
                                 std::vector<std::string>* positional);

  bool help_requested() const { return help_requested_; }
  std::string Help() const;

 private:
  struct Flag {
    std::string name;
    char short_name;
    std::string help;
    std::string default_text;
    std::string range_text;  // "1..256", empty when any value goes
    bool is_bool;
    std::function<absl::Status(const std::string&)> set;
  };
  const Flag* Find(const std::string& name) const;
  const Flag* FindShort(char short_name) const;
  absl::Status Error(const std::string& message) const;

  std::string command_;
  std::string usage_;
  std::string description_;
  std::vector<Flag> flags_;
  bool help_requested_ = false;
};

}  // namespace fsc::util

#endif  // FSC_CORE_UTIL_FLAGS_H_
