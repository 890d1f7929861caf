// Inputs of the client verbs as datasets on the coordinator: a local file or folder is hashed
// and uploaded unless the coordinator already holds the same bytes (datasets are
// content-addressed, so the id is known before any byte moves); a dataset id names one that is
// already there. A one-file video is probed here, on the user's machine, and its frame count
// declared with the upload (the coordinator never decodes user media).
#ifndef FSC_CLI_DATASETS_H_
#define FSC_CLI_DATASETS_H_

#include <string>

#include "absl/status/statusor.h"
#include "cli/client_common.h"

namespace fsc::cli {

struct EnsuredDataset {
  proto::Dataset dataset;
  bool uploaded = false;  // false: it was already on the coordinator
};

// `path_or_id` is a local file or folder, or the id of a dataset on the coordinator. `name`
// labels a new upload (default: the path's base name). Progress and a line saying what happened
// go to stderr.
absl::StatusOr<EnsuredDataset> EnsureDataset(const Client& client, const std::string& path_or_id,
                                             const std::string& name = "");

// ListDatasets with a readable error.
absl::StatusOr<proto::ListDatasetsResponse> ListDatasets(const Client& client);

}  // namespace fsc::cli

#endif  // FSC_CLI_DATASETS_H_
