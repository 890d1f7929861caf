// Parsing and help text for FlagSet.
#include "core/util/flags.h"

#include <cmath>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fsc::util {

FlagSet::FlagSet(std::string command, std::string usage, std::string description)
    : command_(std::move(command)),
      usage_(std::move(usage)),
      description_(std::move(description)) {}

void FlagSet::String(const std::string& name, char short_name, std::string* value,
                     const std::string& help) {
  flags_.push_back({name, short_name, help, *value, "", false, [value](const std::string& text) {
                      *value = text;
                      return absl::OkStatus();
                    }});
}

void FlagSet::Int(const std::string& name, char short_name, int* value, const std::string& help,
                  IntRange range) {
  const bool bounded = range.min != IntRange().min || range.max != IntRange().max;
  const std::string range_text = bounded ? absl::StrCat(range.min, "..", range.max) : "";
  flags_.push_back({name, short_name, help, std::to_string(*value), range_text, false,
                    [value, name, range, range_text](const std::string& text) {
                      int parsed;
                      if (!absl::SimpleAtoi(text, &parsed)) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("--", name, " expects an integer, got '", text, "'"));
                      }
                      if (parsed < range.min || parsed > range.max) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("--", name, " ", parsed, " not in ", range_text));
                      }
                      *value = parsed;
                      return absl::OkStatus();
                    }});
}

void FlagSet::Double(const std::string& name, char short_name, double* value,
                     const std::string& help, DoubleRange range) {
  const bool bounded = range.min != DoubleRange().min || range.max != DoubleRange().max;
  const std::string range_text = bounded ? absl::StrFormat("%g..%g", range.min, range.max) : "";
  flags_.push_back({name, short_name, help, absl::StrFormat("%g", *value), range_text, false,
                    [value, name, range, range_text](const std::string& text) {
                      double parsed;
                      if (!absl::SimpleAtod(text, &parsed) || !std::isfinite(parsed)) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("--", name, " expects a number, got '", text, "'"));
                      }
                      if (parsed < range.min || parsed > range.max) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("--", name, " ", text, " not in ", range_text));
                      }
                      *value = parsed;
                      return absl::OkStatus();
                    }});
}

void FlagSet::Bool(const std::string& name, char short_name, bool* value, const std::string& help) {
  flags_.push_back({name, short_name, help, *value ? "true" : "false", "", true,
                    [value, name](const std::string& text) {
                      bool parsed;
                      if (!absl::SimpleAtob(text, &parsed)) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("--", name, " expects true or false, got '", text, "'"));
                      }
                      *value = parsed;
                      return absl::OkStatus();
                    }});
}

void FlagSet::Value(const std::string& name, char short_name, const std::string& help,
                    const std::string& default_text, const std::string& range_text, bool is_bool,
                    std::function<absl::Status(const std::string&)> set) {
  flags_.push_back({name, short_name, help, default_text, range_text, is_bool, std::move(set)});
}

const FlagSet::Flag* FlagSet::Find(const std::string& name) const {
  for (const Flag& flag : flags_) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

const FlagSet::Flag* FlagSet::FindShort(char short_name) const {
  for (const Flag& flag : flags_) {
    if (flag.short_name != 0 && flag.short_name == short_name) return &flag;
  }
  return nullptr;
}

absl::Status FlagSet::Error(const std::string& message) const {
  return absl::InvalidArgumentError(
      absl::StrCat(command_, ": ", message, " (see '", command_, " --help')"));
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args,
                            std::vector<std::string>* positional) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional->insert(positional->end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      continue;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional->push_back(arg);
      continue;
    }
    const Flag* flag = nullptr;
    std::string value;
    bool has_value = false;
    if (arg[1] == '-') {
      std::string name = arg.substr(2);
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      flag = Find(name);
      if (flag == nullptr && !has_value && name.rfind("no-", 0) == 0) {
        const Flag* negated = Find(name.substr(3));
        if (negated != nullptr && negated->is_bool) {
          flag = negated;
          value = "false";
          has_value = true;
        }
      }
      if (flag == nullptr) return Error(absl::StrCat("unknown flag --", name));
    } else {
      if (arg.size() != 2) return Error(absl::StrCat("unknown flag ", arg));
      flag = FindShort(arg[1]);
      if (flag == nullptr) return Error(absl::StrCat("unknown flag ", arg));
    }
    if (!has_value) {
      if (flag->is_bool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return Error(absl::StrCat("--", flag->name, " needs a value"));
      }
    }
    absl::Status status = flag->set(value);
    if (!status.ok()) return Error(std::string(status.message()));
  }
  return absl::OkStatus();
}

std::optional<int> FlagSet::ParseOrExit(const std::vector<std::string>& args,
                                        std::vector<std::string>* positional) {
  absl::Status parsed = Parse(args, positional);
  if (help_requested_) {
    std::cout << Help();
    return 0;
  }
  if (!parsed.ok()) {
    std::cerr << parsed.message() << "\n";
    return 2;
  }
  return std::nullopt;
}

std::string FlagSet::Help() const {
  std::string out = absl::StrCat("usage: ", command_, " ", usage_, "\n\n", description_, "\n");
  if (!flags_.empty()) absl::StrAppend(&out, "\noptions:\n");
  for (const Flag& flag : flags_) {
    std::string names = flag.short_name != 0
                            ? absl::StrCat("-", std::string(1, flag.short_name), ", --", flag.name)
                            : absl::StrCat("    --", flag.name);
    if (!flag.is_bool) absl::StrAppend(&names, " VALUE");
    std::string default_text =
        flag.default_text.empty() ? "" : absl::StrCat(" (default: ", flag.default_text, ")");
    if (!flag.range_text.empty()) {
      default_text =
          absl::StrCat(" (", flag.range_text,
                       flag.default_text.empty() ? "" : "; default: " + flag.default_text, ")");
    }
    absl::StrAppend(&out, absl::StrFormat("  %-26s %s%s\n", names, flag.help, default_text));
  }
  absl::StrAppend(&out, absl::StrFormat("  %-26s %s\n", "-h, --help", "show this help"));
  return out;
}

}  // namespace fsc::util
