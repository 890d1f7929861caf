// fsc fetch ID -o DIR [--path P] [--with-state]: downloads a finished job's artifacts, each file
// verified against the job's record (size, sha256) and renamed into place only when complete.
// A train job's model comes without its training state (model/state/: optimiser moments,
// discriminators; twice the weights' size) unless --with-state asks for it (to resume training).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "cli/client_common.h"
#include "cli/commands.h"
#include "core/rpc/transfer.h"
#include "core/util/flags.h"
#include "core/util/model_folder.h"
#include "core/util/progress.h"

namespace fsc::cli {

int RunFetchCommand(const Args& args) {
  rpc::ConnectFlags connect;
  std::string output, path;
  bool json = false, with_state = false;
  util::FlagSet flags("fsc fetch", "ID -o DIR [--path P] [--with-state] [connection flags]",
                      "Downloads the artifacts of a succeeded job into DIR (extract: alignments\n"
                      "and faces; train: the model folder's weights, enough to convert with;\n"
                      "convert/swap: the labelled video).\n"
                      "Every file is checked against the job's record and appears only when\n"
                      "complete; existing files of the same name are replaced.");
  rpc::AddConnectFlags(&flags, &connect);
  flags.String("output", 'o', &output, "folder to write into (created if missing)");
  flags.String("path", 0, &path, "only this artifact (a path as 'fsc job ID' lists it)");
  flags.Bool("with-state", 0, &with_state,
             "train jobs: also the model's training state (model/state/: optimiser, "
             "discriminators), needed to resume training it bit-exactly");
  flags.Bool("json", 0, &json, "print the files written as JSON");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (positional.size() != 1 || output.empty()) {
    std::cerr << "fsc fetch: needs one job ID and -o DIR (see --help)\n";
    return 2;
  }
  std::error_code error;
  if (std::filesystem::exists(output, error) && !std::filesystem::is_directory(output, error)) {
    std::cerr << "fsc fetch: -o '" << output << "' is a file, not a folder: give a folder to "
              << "write the artifacts into (it is created if missing)\n";
    return 2;
  }
  auto client = Connect(connect);
  if (!client.ok()) return Fail("fetch", client.status());
  auto id = ResolveJobId(*client, positional[0]);
  if (!id.ok()) return Fail("fetch", id.status());
  auto job = GetJob(*client, *id);
  if (!job.ok()) return Fail("fetch", job.status());
  if (job->state() != proto::JOB_SUCCEEDED) {
    return Fail("fetch", absl::FailedPreconditionError(absl::StrCat(
                             "job ", *id, " is ", JobStateName(job->state()),
                             job->state() == proto::JOB_QUEUED || job->state() == proto::JOB_RUNNING
                                 ? ": its artifacts exist once it succeeded ('fsc logs -f " + *id +
                                       "' waits for it)"
                                 : ": it has no artifacts to fetch")));
  }
  std::vector<proto::FileEntry> expected;
  int64_t state_bytes = 0;  // training state left out
  for (const proto::FileEntry& file : job->artifacts()) {
    const bool state = util::IsModelTrainingStatePath(file.path());
    if (state && !with_state && file.path() != path) {
      state_bytes += file.size();
      continue;
    }
    expected.push_back(file);
  }
  int64_t total = 0;
  bool found = path.empty();
  for (const proto::FileEntry& file : expected) {
    if (path.empty() || file.path() == path) total += file.size();
    found = found || file.path() == path;
  }
  if (!found) {
    return Fail("fetch", absl::NotFoundError(absl::StrCat("job ", *id, " has no artifact '", path,
                                                          "' ('fsc job ", *id, "' lists them)")));
  }
  // The folder is checked before any byte moves, so that a local problem is not mistaken for
  // the coordinator refusing the download.
  std::filesystem::create_directories(output, error);
  if (error || ::access(output.c_str(), W_OK | X_OK) != 0) {
    return Fail("fetch", absl::PermissionDeniedError(
                             absl::StrCat("cannot write into the folder '", output,
                                          "': ", error ? error.message() : std::strerror(errno))));
  }
  std::unique_ptr<util::Progress> bar;
  int64_t before = 0;  // bytes of the files already fetched
  auto progress = [&](int64_t done, int64_t) {
    if (!bar) bar = std::make_unique<util::Progress>("fetch", (total + 1023) / 1024, "KB");
    bar->Update((before + done) / 1024);
  };
  // All artifacts in one stream, or (when some are left out) the wanted ones one by one.
  std::vector<std::string> requests = {path};
  if (path.empty() && state_bytes > 0) {
    requests.clear();
    for (const proto::FileEntry& file : expected) requests.push_back(file.path());
  }
  absl::StatusOr<std::vector<proto::FileEntry>> written = std::vector<proto::FileEntry>();
  for (const std::string& request : requests) {
    auto part = rpc::DownloadArtifacts(client->stub.get(), client->options.token, *id, request,
                                       output, expected, progress);
    if (!part.ok()) {
      written = part.status();
      break;
    }
    for (const proto::FileEntry& file : *part) before += file.size();
    written->insert(written->end(), part->begin(), part->end());
  }
  if (bar) bar->Finish();
  if (!written.ok()) {
    return Fail("fetch", RpcError(rpc::ToGrpc(written.status()), "DownloadArtifact " + *id,
                                  client->options));
  }
  std::string folder = std::filesystem::absolute(output).lexically_normal().string();
  if (json) {
    nlohmann::json files = nlohmann::json::array();
    for (const proto::FileEntry& file : *written) {
      files.push_back({{"path", file.path()},
                       {"size", file.size()},
                       {"sha256", file.sha256()},
                       {"local_path", (std::filesystem::path(folder) / file.path()).string()}});
    }
    std::cout << nlohmann::json{{"job_id", *id}, {"folder", folder}, {"files", files}}.dump(2)
              << "\n";
    return 0;
  }
  for (const proto::FileEntry& file : *written) {
    std::cout << (std::filesystem::path(folder) / file.path()).string() << "\n";
  }
  std::cerr << "fetched " << written->size() << " files (" << HumanBytes(total) << ") of job "
            << *id << " into " << folder << "\n";
  if (state_bytes > 0) {
    std::cerr << "left out the model's training state (" << HumanBytes(state_bytes)
              << "): fetch with --with-state to resume training it\n";
  }
  return 0;
}

}  // namespace fsc::cli
