// fsc preview ID -o FILE.png [--wait]: saves the latest training preview of a job (the
// coordinator keeps the newest one each train task reports; see coordinator/previews.h).
#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/client_common.h"
#include "cli/commands.h"
#include "core/rpc/version.h"
#include "core/util/file_io.h"
#include "core/util/flags.h"

namespace fsc::cli {
namespace {

// How often --wait asks again: previews come every preview_every iterations (seconds at best).
constexpr absl::Duration kPollInterval = absl::Seconds(1);

absl::StatusOr<proto::GetPreviewResponse> FetchPreview(const Client& client,
                                                       const std::string& job_id) {
  proto::GetPreviewRequest request;
  request.set_job_id(job_id);
  return Call(client, &proto::ClientService::Stub::GetPreview, request, "GetPreview " + job_id);
}

}  // namespace

int RunPreviewCommand(const Args& args) {
  rpc::ConnectFlags connect;
  std::string output;
  bool wait = false, json = false;
  int timeout_s = 0;
  util::FlagSet flags(
      "fsc preview", "ID -o FILE.png [--wait [--timeout S]] [connection flags]",
      "Saves the latest training preview of a job that trains (train or swap): rows of faces\n"
      "A and B, each as input, reconstruction and swap, as the trainer draws them every\n"
      "preview_every iterations and at the end. --wait waits for the first preview when the\n"
      "job has not reported one yet.\n"
      "Exit status: 0 saved, 1 error (no train stage, no preview yet, job ended without one),\n"
      "2 usage.");
  rpc::AddConnectFlags(&flags, &connect);
  flags.String("output", 'o', &output, "the PNG file to write (replaced atomically)");
  flags.Bool("wait", 'w', &wait, "wait until the job reports its first preview");
  flags.Int("timeout", 0, &timeout_s,
            "with --wait: give up after S seconds (0: while the job runs)", {0, 86400});
  flags.Bool("json", 0, &json, "print what was saved as JSON");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (positional.size() != 1 || output.empty()) {
    std::cerr << "fsc preview: needs one job ID and -o FILE.png (see --help)\n";
    return 2;
  }
  if (timeout_s < 0) {
    std::cerr << "fsc preview: --timeout must be 0 or more seconds\n";
    return 2;
  }
  std::error_code ec;
  if (std::filesystem::is_directory(output, ec)) {
    std::cerr << "fsc preview: -o " << output << " is a folder; give the PNG file to write\n";
    return 2;
  }
  auto client = Connect(connect);
  if (!client.ok()) return Fail("preview", client.status());
  auto id = ResolveJobId(*client, positional[0]);
  if (!id.ok()) return Fail("preview", id.status());

  const absl::Time deadline =
      timeout_s > 0 ? absl::Now() + absl::Seconds(timeout_s) : absl::InfiniteFuture();
  absl::StatusOr<proto::GetPreviewResponse> preview;
  bool announced = false;
  while (true) {
    preview = FetchPreview(*client, *id);
    if (!preview.ok()) return Fail("preview", preview.status());
    if (preview->available()) break;
    const bool ended = IsFinal(preview->job_state());
    if (!wait || ended || absl::Now() >= deadline) {
      std::string why = ended
                            ? absl::StrCat("job ", *id, " ", JobStateName(preview->job_state()),
                                           " without reporting a training preview")
                            : absl::StrCat("job ", *id, " has no training preview yet (it is ",
                                           JobStateName(preview->job_state()), ")",
                                           wait ? absl::StrCat("; gave up after ", timeout_s, " s")
                                                : "; pass --wait to wait for the first one");
      return Fail("preview", absl::NotFoundError(why));
    }
    if (!announced) {
      std::cerr << "fsc preview: waiting for job " << *id << "'s first preview...\n";
      announced = true;
    }
    absl::SleepFor(kPollInterval);
  }

  absl::Status written = util::WriteFileAtomically(output, preview->png());
  if (!written.ok()) return Fail("preview", written);
  const std::string path = std::filesystem::absolute(output).lexically_normal().string();
  const proto::JobPreview& info = preview->preview();
  if (json) {
    std::cout << nlohmann::json{{"job_id", *id},
                                {"task_id", info.task_id()},
                                {"iteration", info.iteration()},
                                {"file", path},
                                {"size", static_cast<int64_t>(preview->png().size())},
                                {"sha256", info.png().sha256()},
                                {"updated_unix_ms", info.updated_unix_ms()}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::cout << path << "\n";
  std::cerr << "fsc preview: iteration " << info.iteration() << " of job " << *id << " ("
            << HumanBytes(static_cast<int64_t>(preview->png().size())) << ", reported "
            << FormatUnixMs(info.updated_unix_ms()) << ")\n";
  return 0;
}

}  // namespace fsc::cli
