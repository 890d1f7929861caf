// InputSource -> Task.inputs.
#include "coordinator/task_inputs.h"

#include <set>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/util/artifact_names.h"
#include "core/util/model_folder.h"
#include "core/util/status_macros.h"

namespace fsc::coordinator {

std::optional<std::string> MapSourcePath(const InputSource& source, const std::string& path,
                                         int file_count) {
  if (source.from.empty()) return source.to + path;
  if (source.from == "*") {
    if (file_count != 1) return std::nullopt;
    return source.to;
  }
  if (absl::EndsWith(source.from, "/")) {
    if (!absl::StartsWith(path, source.from) || path.size() == source.from.size()) {
      return std::nullopt;
    }
    return source.to + path.substr(source.from.size());
  }
  if (path == source.from) return source.to;
  return std::nullopt;
}

bool InputNeeded(proto::TaskKind kind, const std::string& path) {
  return kind != proto::TASK_CONVERT || !util::IsModelTrainingStatePath(path);
}

absl::StatusOr<std::vector<proto::FileEntry>> ResolveInputs(const std::vector<InputSource>& sources,
                                                            const SourceFilesFn& files_of) {
  std::vector<proto::FileEntry> inputs;
  std::set<std::string> seen;
  for (const InputSource& source : sources) {
    FSC_ASSIGN_OR_RETURN(std::vector<proto::FileEntry> files, files_of(source));
    int selected = 0;
    for (const proto::FileEntry& file : files) {
      std::optional<std::string> mapped =
          MapSourcePath(source, file.path(), static_cast<int>(files.size()));
      if (!mapped) continue;
      if (!seen.insert(*mapped).second) {
        return absl::FailedPreconditionError(absl::StrCat("two inputs map to '", *mapped, "'"));
      }
      proto::FileEntry entry = file;
      entry.set_path(*mapped);
      inputs.push_back(std::move(entry));
      ++selected;
    }
    if (selected == 0) {
      std::string what = source.kind == InputSource::kDataset ? "dataset " : "the outputs of task ";
      std::string pattern = source.from.empty() ? "any file" : "'" + source.from + "'";
      return absl::FailedPreconditionError(
          absl::StrCat(what, source.id, " have no ", pattern, " for '", source.to, "'"));
    }
  }
  return inputs;
}

}  // namespace fsc::coordinator
