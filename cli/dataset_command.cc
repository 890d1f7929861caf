// fsc dataset upload PATH [--name N] | list | rm ID...: managing the inputs stored on the
// coordinator.
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "cli/client_common.h"
#include "cli/commands.h"
#include "cli/datasets.h"
#include "core/rpc/version.h"
#include "core/util/flags.h"

namespace fsc::cli {
namespace {

int RunUpload(const Args& args) {
  rpc::ConnectFlags connect;
  std::string name;
  bool json = false;
  util::FlagSet flags(
      "fsc dataset upload", "PATH [--name N] [--json] [connection flags]",
      "Uploads a file or a folder as a dataset and prints its id. Datasets are\n"
      "content-addressed: the same bytes are stored once, and uploading them again\n"
      "only finds the existing dataset. Jobs take the id wherever they take a path.");
  rpc::AddConnectFlags(&flags, &connect);
  flags.String("name", 0, &name, "label of the dataset (default: the path's base name)");
  flags.Bool("json", 0, &json, "print the dataset record as JSON");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (positional.size() != 1) {
    std::cerr << "fsc dataset upload: needs one PATH (see --help)\n";
    return 2;
  }
  auto client = Connect(connect);
  if (!client.ok()) return Fail("dataset upload", client.status());
  auto ensured = EnsureDataset(*client, positional[0], name);
  if (!ensured.ok()) return Fail("dataset upload", ensured.status());
  if (json) {
    std::cout << ToJson(ensured->dataset) << "\n";
  } else {
    std::cout << ensured->dataset.id() << "\n";
  }
  return 0;
}

int RunList(const Args& args) {
  rpc::ConnectFlags connect;
  bool json = false;
  util::FlagSet flags("fsc dataset list", "[--json] [connection flags]",
                      "Lists your datasets on the coordinator.");
  rpc::AddConnectFlags(&flags, &connect);
  flags.Bool("json", 0, &json, "print the datasets (with their file lists) as JSON");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (!positional.empty()) {
    std::cerr << "fsc dataset list: unexpected argument '" << positional[0] << "'\n";
    return 2;
  }
  auto client = Connect(connect);
  if (!client.ok()) return Fail("dataset list", client.status());
  auto list = ListDatasets(*client);
  if (!list.ok()) return Fail("dataset list", list.status());
  if (json) {
    std::cout << ToJson(*list) << "\n";
    return 0;
  }
  if (list->datasets_size() == 0) {
    std::cout << "no datasets\n";
    return 0;
  }
  std::cout << absl::StrFormat("%-64s %6s %10s %-19s %s\n", "DATASET", "FILES", "SIZE", "CREATED",
                               "NAME");
  for (const proto::Dataset& dataset : list->datasets()) {
    std::cout << absl::StrFormat("%-64s %6d %10s %-19s %s\n", dataset.id(), dataset.files_size(),
                                 HumanBytes(dataset.total_bytes()),
                                 FormatUnixMs(dataset.created_unix_ms()), dataset.name());
  }
  return 0;
}

// The dataset a full id or a unique prefix of one names, among the caller's.
absl::StatusOr<std::string> ResolveDatasetId(const proto::ListDatasetsResponse& list,
                                             const std::string& id_or_prefix) {
  std::vector<std::string> matches;
  for (const proto::Dataset& dataset : list.datasets()) {
    if (dataset.id().rfind(id_or_prefix, 0) == 0) matches.push_back(dataset.id());
  }
  if (id_or_prefix.size() < 6 || matches.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", id_or_prefix, "' matches ", matches.size(),
                     " of your datasets: give at least 6 digits of the id, enough to name one"));
  }
  if (matches.empty()) {
    return absl::NotFoundError(absl::StrCat("no dataset of yours has the id '", id_or_prefix,
                                            "' ('fsc dataset list' lists them)"));
  }
  return matches[0];
}

int RunRemove(const Args& args) {
  rpc::ConnectFlags connect;
  bool json = false;
  util::FlagSet flags(
      "fsc dataset rm", "ID... [--json] [connection flags]",
      "Removes datasets of yours from the coordinator (ID: the id or a unique prefix of it).\n"
      "A dataset that a queued or running job of yours reads is kept (cancel the job first).\n"
      "Stored bytes that nothing else uses are freed; finished jobs keep their results.");
  rpc::AddConnectFlags(&flags, &connect);
  flags.Bool("json", 0, &json, "print what was removed as JSON");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (positional.empty()) {
    std::cerr << "fsc dataset rm: needs the ID of a dataset (see 'fsc dataset list')\n";
    return 2;
  }
  auto client = Connect(connect);
  if (!client.ok()) return Fail("dataset rm", client.status());
  auto list = ListDatasets(*client);
  if (!list.ok()) return Fail("dataset rm", list.status());
  std::vector<std::string> ids;
  for (const std::string& word : positional) {
    auto id = ResolveDatasetId(*list, word);
    if (!id.ok()) return Fail("dataset rm", id.status());
    ids.push_back(*id);
  }
  nlohmann::json removed = nlohmann::json::array();
  for (const std::string& id : ids) {
    proto::DeleteDatasetRequest request;
    request.set_dataset_id(id);
    absl::StatusOr<proto::DeleteDatasetResponse> deleted =
        Call(*client, &proto::ClientService::Stub::DeleteDataset, request, "DeleteDataset " + id);
    if (!deleted.ok()) return Fail("dataset rm", deleted.status());
    const proto::DeleteDatasetResponse& response = *deleted;
    if (json) {
      removed.push_back(nlohmann::json::parse(ToJson(response)));
    } else {
      std::cout << "removed dataset " << id.substr(0, 12) << " (" << response.dataset().name()
                << ", " << HumanBytes(response.dataset().total_bytes()) << "); freed "
                << HumanBytes(response.bytes_freed()) << "\n";
    }
  }
  if (json) std::cout << removed.dump(2) << "\n";
  return 0;
}

}  // namespace

int RunDatasetCommand(const Args& args) {
  const char* usage =
      "usage: fsc dataset upload PATH [--name N] [--json]\n"
      "       fsc dataset list [--json]\n"
      "       fsc dataset rm ID... [--json]\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << usage;
    return args.empty() ? 2 : 0;
  }
  Args rest(args.begin() + 1, args.end());
  if (args[0] == "upload") return RunUpload(rest);
  if (args[0] == "list") return RunList(rest);
  if (args[0] == "rm") return RunRemove(rest);
  std::cerr << "fsc dataset: unknown subcommand '" << args[0] << "'\n" << usage;
  return 2;
}

}  // namespace fsc::cli
