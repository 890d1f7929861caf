// fsc submit extract|convert|train|swap: uploads the inputs as datasets (skipping what the
// coordinator already holds), submits the JobSpec with options that mirror the local verbs, and
// with --wait follows the job to its end.
#include <functional>
#include <iostream>
#include <limits>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/client_common.h"
#include "cli/commands.h"
#include "cli/datasets.h"
#include "core/rpc/option_schema.h"
#include "core/rpc/version.h"
#include "core/util/artifact_names.h"
#include "core/util/flags.h"

namespace fsc::cli {
namespace {

// Every flag of every kind; each kind registers the ones it takes.
struct SubmitFlags {
  rpc::ConnectFlags connect;
  // Job.
  std::string name;
  int priority = 0;
  int frames_per_task = 0;
  int max_attempts = 0;
  bool wait = false;
  bool json = false;
  // Inputs besides the positional ones.
  std::string faces_a, faces_b, model_dir, alignments;
};

void AddJobFlags(util::FlagSet* flags, SubmitFlags* f) {
  rpc::AddConnectFlags(flags, &f->connect);
  flags->String("name", 0, &f->name, "a label for the job (shown by 'fsc jobs')");
  flags->Int("priority", 0, &f->priority, "higher runs first", {0, 9});
  flags->Int("max-attempts", 0, &f->max_attempts,
             "attempts per task before the job fails (0: the coordinator's default)", {0, 100});
  flags->Bool("wait", 'W', &f->wait,
              "follow the job to its end (progress bar); exit 0 if it succeeded, 1 otherwise");
  flags->Bool("json", 0, &f->json, "print the job as JSON (with --wait: as it ended)");
}

void AddSplitFlags(util::FlagSet* flags, SubmitFlags* f) {
  flags->Int("frames-per-task", 0, &f->frames_per_task,
             "frames of a video per extract/convert task (0: the coordinator chooses)",
             {0, 1000000});
}

// The job options, declared by their schema (fsc.proto's ExtractOptions, TrainOptions and
// ConvertOptions); a flag not given leaves its field unset, so the job keeps the local verb's
// default (for train, or a resumed model's own setting). `leave_out`: fields whose flag another
// message of the same job already declares.
void AddSpecFlags(util::FlagSet* flags, google::protobuf::Message* options,
                  const std::set<std::string>& leave_out = {}) {
  rpc::AddOptionFlags(rpc::OptionScope::kAll, "", flags, options, leave_out);
}

// The checks across flags (each flag's own range is checked as it is parsed).
absl::Status CheckFlags(const proto::JobSpec& spec) {
  const proto::TrainOptions& train = spec.train();
  if (train.max_ranks() != 0 && train.max_ranks() < train.ranks()) {
    return absl::InvalidArgumentError(
        "--max-ranks must be at least --ranks (or 0 for the same as --ranks)");
  }
  return absl::OkStatus();
}

// Uploads (or finds) `path_or_id` and returns its dataset id.
absl::StatusOr<std::string> Input(const Client& client, const std::string& path_or_id) {
  auto ensured = EnsureDataset(client, path_or_id);
  if (!ensured.ok()) return ensured.status();
  return ensured->dataset.id();
}

int Submit(const std::string& verb, const Client& client, const SubmitFlags& f,
           proto::JobSpec spec) {
  spec.set_version(rpc::kClusterProtoVersion);
  spec.set_name(f.name);
  spec.set_priority(f.priority);
  spec.set_frames_per_task(f.frames_per_task);
  spec.set_max_attempts(f.max_attempts);
  proto::SubmitJobRequest request;
  *request.mutable_spec() = spec;
  absl::StatusOr<proto::Job> submitted =
      Call(client, &proto::ClientService::Stub::SubmitJob, request, "SubmitJob");
  if (!submitted.ok()) return Fail(verb, submitted.status());
  const proto::Job& job = *submitted;
  if (!f.wait) {
    if (f.json) {
      std::cout << ToJson(job) << "\n";
    } else {
      std::cout << job.id() << "\n";
      std::cerr << "follow it: fsc logs -f " << job.id() << "\n";
    }
    return 0;
  }
  if (!f.json) std::cout << job.id() << std::endl;
  FollowOptions follow;
  follow.log_out = stderr;  // stdout carries only the id (or the JSON)
  auto ended = FollowJob(client, job.id(), follow);
  if (!ended.ok()) return Fail(verb, ended.status());
  if (f.json) std::cout << ToJson(*ended) << "\n";
  if (ended->state() != proto::JOB_SUCCEEDED) {
    std::cerr << "fsc " << verb << ": job " << ended->id() << " " << JobStateName(ended->state())
              << (ended->error().empty() ? "" : ": " + ended->error()) << "\n";
    return 1;
  }
  std::cerr << "job " << ended->id() << " succeeded; fetch its results: fsc fetch " << ended->id()
            << " -o DIR\n";
  return 0;
}

int Usage() {
  std::cerr << "usage: fsc submit extract INPUT [options]\n"
               "       fsc submit train --a FACES_A --b FACES_B [options]\n"
               "       fsc submit convert INPUT -m MODEL_DIR [--alignments FILE] [options]\n"
               "       fsc submit swap VIDEO_A INPUT_B [options]\n"
               "(fsc submit KIND --help for the options of each)\n";
  return 2;
}

}  // namespace

int RunSubmitCommand(const Args& args) {
  if (args.empty()) return Usage();
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    Usage();
    return 0;
  }
  const std::string kind = args[0];
  const std::string verb = "submit " + kind;
  const std::string inputs_note =
      "\nInputs are local files or folders (hashed, then uploaded unless the coordinator already\n"
      "holds the same bytes) or ids of datasets already there ('fsc dataset list'). Prints the\n"
      "job id; --wait follows it to its end.";
  SubmitFlags f;
  proto::JobSpec spec;
  std::vector<std::string> positional;
  Args rest(args.begin() + 1, args.end());

  if (kind == "extract") {
    util::FlagSet flags(
        "fsc submit extract", "INPUT [options]",
        "Extracts faces on the cluster, like 'fsc extract': INPUT is a video (split\n"
        "into frame ranges across the workers, then merged), an image or a folder\n"
        "of images. Artifacts: " +
            std::string(kAlignmentsFileName) + " and " + kFacesFolderName +
            "/*.png (as 'fsc extract -o DIR' writes them)." + inputs_note);
    AddJobFlags(&flags, &f);
    AddSplitFlags(&flags, &f);
    AddSpecFlags(&flags, spec.mutable_extract());
    if (auto exit_code = flags.ParseOrExit(rest, &positional)) return *exit_code;
    if (positional.size() != 1) {
      std::cerr << "fsc submit extract: needs one INPUT (see --help)\n";
      return 2;
    }
    spec.set_kind(proto::JOB_EXTRACT);
  } else if (kind == "train") {
    util::FlagSet flags("fsc submit train", "--a FACES_A --b FACES_B [options]",
                        "Trains a face-swap model on the cluster, like 'fsc train': FACES_A and\n"
                        "FACES_B are folders of aligned faces (fsc extract output). With -m it\n"
                        "resumes that model folder. Options not given keep fsc train's defaults\n"
                        "(a resumed model keeps its own). Artifacts: model/*." +
                            inputs_note);
    AddJobFlags(&flags, &f);
    flags.String("a", 0, &f.faces_a, "faces of identity A (folder or dataset id)");
    flags.String("b", 0, &f.faces_b, "faces of identity B (folder or dataset id)");
    flags.String("model-dir", 'm', &f.model_dir, "a model folder to resume (optional)");
    AddSpecFlags(&flags, spec.mutable_train());
    if (auto exit_code = flags.ParseOrExit(rest, &positional)) return *exit_code;
    if (!positional.empty() || f.faces_a.empty() || f.faces_b.empty()) {
      std::cerr << "fsc submit train: needs --a FACES_A and --b FACES_B (see --help)\n";
      return 2;
    }
    spec.set_kind(proto::JOB_TRAIN);
  } else if (kind == "convert") {
    util::FlagSet flags("fsc submit convert", "INPUT -m MODEL_DIR [--alignments FILE] [options]",
                        "Swaps faces in INPUT (a video or images) with a trained model on the\n"
                        "cluster, like 'fsc convert'; without --alignments INPUT is extracted\n"
                        "first. The output is labelled as synthetic. Artifact: the video." +
                            inputs_note);
    AddJobFlags(&flags, &f);
    AddSplitFlags(&flags, &f);
    flags.String("model-dir", 'm', &f.model_dir, "the trained model folder (or dataset id)");
    flags.String("alignments", 0, &f.alignments, "alignments file of INPUT (optional)");
    AddSpecFlags(&flags, spec.mutable_extract());
    AddSpecFlags(&flags, spec.mutable_convert());
    if (auto exit_code = flags.ParseOrExit(rest, &positional)) return *exit_code;
    if (positional.size() != 1 || f.model_dir.empty()) {
      std::cerr << "fsc submit convert: needs one INPUT and -m MODEL_DIR (see --help)\n";
      return 2;
    }
    spec.set_kind(proto::JOB_CONVERT);
  } else if (kind == "swap") {
    util::FlagSet flags("fsc submit swap", "VIDEO_A INPUT_B [options]",
                        "The whole pipeline on the cluster: extracts the faces of VIDEO_A and of\n"
                        "INPUT_B (a video, or a folder of photos of the other person), trains a\n"
                        "model on them, then converts VIDEO_A with it (A's face replaced by B's,\n"
                        "labelled as synthetic). Artifact: the swapped video." +
                            inputs_note);
    AddJobFlags(&flags, &f);
    AddSplitFlags(&flags, &f);
    AddSpecFlags(&flags, spec.mutable_extract());
    AddSpecFlags(&flags, spec.mutable_train());
    // --batch and --precision are the training's; conversion keeps its defaults for them.
    AddSpecFlags(&flags, spec.mutable_convert(), {"batch", "precision"});
    if (auto exit_code = flags.ParseOrExit(rest, &positional)) return *exit_code;
    if (positional.size() != 2) {
      std::cerr << "fsc submit swap: needs VIDEO_A and INPUT_B (see --help)\n";
      return 2;
    }
    spec.set_kind(proto::JOB_SWAP);
  } else {
    std::cerr << "fsc submit: unknown job kind '" << kind << "'\n";
    return Usage();
  }
  absl::Status checked = CheckFlags(spec);
  if (!checked.ok()) {
    std::cerr << "fsc " << verb << ": " << checked.message() << " (see --help)\n";
    return 2;
  }

  auto client = Connect(f.connect);
  if (!client.ok()) return Fail(verb, client.status());
  // The inputs the job reads, each a local path (uploaded unless already there) or a dataset id.
  using Setter = std::function<void(const std::string&)>;
  std::vector<std::pair<std::string, Setter>> inputs;
  if (kind == "extract" || kind == "convert" || kind == "swap") {
    inputs.push_back({positional[0], [&](const std::string& id) { spec.set_input_dataset(id); }});
  }
  if (kind == "swap") {
    inputs.push_back({positional[1], [&](const std::string& id) { spec.set_input_b_dataset(id); }});
  }
  if (kind == "train") {
    inputs.push_back({f.faces_a, [&](const std::string& id) { spec.set_faces_a_dataset(id); }});
    inputs.push_back({f.faces_b, [&](const std::string& id) { spec.set_faces_b_dataset(id); }});
  }
  if (kind == "train" || kind == "convert") {
    inputs.push_back({f.model_dir, [&](const std::string& id) { spec.set_model_dataset(id); }});
  }
  if (kind == "convert") {
    inputs.push_back(
        {f.alignments, [&](const std::string& id) { spec.set_alignments_dataset(id); }});
  }
  for (const auto& [path, set] : inputs) {
    if (path.empty()) continue;
    auto id = Input(*client, path);
    if (!id.ok()) return Fail(verb, id.status());
    set(*id);
  }
  return Submit(verb, *client, f, spec);
}

}  // namespace fsc::cli
