// The bad-input suite (issue 18): every hostile or clumsy input we know of, run through the real
// binaries the way a user would, one table row each. A row makes its inputs in a folder of its
// own, runs one command, and checks
//   - the exit code (never an abort: 134 and friends fail every row),
//   - that the message says what failed (each `Says` part appears in stdout + stderr),
//   - that nothing was left behind: the row's folder holds exactly what it held before (same
//     files, same sizes and times) apart from the paths the row `Leaves`, and the process's
//     TMPDIR is empty again.
//
// Adding a case: append a row to Cases() below. Arguments are passed as they are (no shell), so
// any bytes can go in ("\r\n" in a token...). Placeholders in arguments: {dir} the row's folder,
// {data} the sample data (scripts/setup), {models} the face models, and whatever the row's Setup
// puts in env.vars (e.g. a job id). A row that needs a cluster says `Cluster()`: a local
// coordinator (`fsc cluster up --local`, no workers unless asked) is started for it, and the
// command (and env.Fsc in Setup) reach it through FSC_CONFIG. Each row is its own ctest test, so
// `ctest -j2` runs two at once; keep rows cheap (most fail before any model loads).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/face/alignments_file.h"
#include "core/util/file_io.h"
#include "core/util/subprocess.h"
#include "proto/fsc.pb.h"
#include "tests/hostile_images.h"
#include "tests/integration/cluster_harness.h"
#include "tests/test_paths.h"

namespace fsc {
namespace {

namespace fs = std::filesystem;

// What a row's Setup works with.
struct CaseEnv {
  std::string dir;                                 // the row's folder ({dir})
  std::map<std::string, std::string> vars;         // extra placeholders: vars["job"] -> {job}
  const testing::LocalCluster* cluster = nullptr;  // set for Cluster() rows

  std::string Path(const std::string& relative) const { return dir + "/" + relative; }
  void Write(const std::string& relative, const std::string& bytes) const {
    fs::create_directories(fs::path(Path(relative)).parent_path());
    ASSERT_TRUE(util::WriteFileAtomically(Path(relative), bytes).ok()) << relative;
  }
  void Copy(const std::string& from, const std::string& relative) const {
    fs::create_directories(fs::path(Path(relative)).parent_path());
    fs::copy_file(from, Path(relative), fs::copy_options::overwrite_existing);
  }
  // Runs `fsc ARGS` (against the row's cluster, if any); stdout + stderr.
  util::ProcessResult Fsc(const std::vector<std::string>& args) const;
  // Runs `fsc-coordinator token ARGS --db DB` on the row's cluster's database; stdout.
  std::string TokenAdmin(std::vector<std::string> args) const;
};

struct Case {
  explicit Case(std::string name) : name(std::move(name)) {}
  Case& Setup(std::function<void(CaseEnv&)> make) {
    setup = std::move(make);
    return *this;
  }
  Case& Run(std::vector<std::string> arguments) {
    args = std::move(arguments);
    return *this;
  }
  Case& Binary(std::string name) {
    binary = std::move(name);
    return *this;
  }
  Case& Exits(int code) {
    exit_code = code;
    return *this;
  }
  Case& Says(std::vector<std::string> parts) {
    says = std::move(parts);
    return *this;
  }
  Case& Leaves(std::vector<std::string> paths) {
    leaves = std::move(paths);
    return *this;
  }
  Case& Cluster(int workers = 0) {
    cluster = true;
    cluster_workers = workers;
    return *this;
  }

  std::string name;  // the gtest name: letters, digits and _
  std::function<void(CaseEnv&)> setup;
  std::string binary = "fsc";
  std::vector<std::string> args;
  int exit_code = 1;
  std::vector<std::string> says;
  // Paths relative to {dir} that the run may create or change ("out" covers everything under it).
  std::vector<std::string> leaves;
  bool cluster = false;
  int cluster_workers = 0;
};

// gtest names a failing row by this.
void PrintTo(const Case& row, std::ostream* out) { *out << row.name; }

// --- inputs shared by several rows -------------------------------------------------------------

// An alignments file with one frame and one face whose landmark 0 has x = `first_x`.
proto::Alignments OneFace(float first_x) {
  proto::Alignments alignments;
  alignments.mutable_source()->set_width(640);
  alignments.mutable_source()->set_height(480);
  proto::Face* face = alignments.add_frames()->add_faces();
  for (int i = 0; i < 68; ++i) {
    proto::Point* p = face->add_landmarks();
    p->set_x(i == 0 ? first_x : 100 + i);
    p->set_y(100 + i);
  }
  return alignments;
}

void HugePng(CaseEnv& env) { env.Write("huge.png", testing::PngHeader(100000, 100000)); }

// An aligned-face PNG as fsc extract writes it (68 aligned landmarks in its fsCm chunk) whose
// header declares `side` x `side` pixels but holds none.
std::string FacePngDeclaring(uint32_t side) {
  proto::FaceMetadata metadata;
  metadata.set_version(1);
  for (int i = 0; i < 68; ++i) {
    proto::Point* p = metadata.add_aligned_landmarks();
    p->set_x(0.3f + 0.005f * i);
    p->set_y(0.4f + 0.003f * i);
  }
  return testing::PngHeader(side, side, testing::PngChunk("fsCm", metadata.SerializeAsString()));
}

// --- the table ---------------------------------------------------------------------------------

std::vector<Case> Cases() {
  std::vector<Case> cases;
  auto add = [&](Case c) { cases.push_back(std::move(c)); };

  // Local extract: inputs that are missing, empty, not media, or lie about their size.
  add(Case("ExtractMissingInput")
          .Run({"extract", "{dir}/missing.mp4", "-o", "{dir}/out"})
          .Exits(1)
          .Says({"missing.mp4", "no such file"}));
  add(Case("ExtractEmptyFolder")
          .Setup([](CaseEnv& env) { fs::create_directory(env.Path("in")); })
          .Run({"extract", "{dir}/in", "-o", "{dir}/out"})
          .Exits(1)
          .Says({"in", "no images"}));
  add(Case("ExtractTextFileAsVideo")
          .Setup([](CaseEnv& env) { env.Write("clip.mp4", "not a video at all\n"); })
          .Run({"extract", "{dir}/clip.mp4", "-o", "{dir}/out"})
          .Exits(1)
          .Says({"clip.mp4", "cannot open as a video"}));
  add(Case("ExtractCorruptJpegAlone")
          .Setup([](CaseEnv& env) { env.Write("broken.jpg", "definitely not a jpeg"); })
          .Run({"extract", "{dir}/broken.jpg", "-o", "{dir}/out"})
          .Exits(1)
          .Says({"broken.jpg", "not an image format fsc reads"}));
  add(Case("ExtractTruncatedPngAlone")
          .Setup([](CaseEnv& env) { env.Write("cut.png", testing::PngHeader(64, 64)); })
          .Run({"extract", "{dir}/cut.png", "-o", "{dir}/out"})
          .Exits(1)
          .Says({"cut.png", "PNG pixel data cannot be decoded"}));
  add(Case("ExtractGifNamedPng")
          .Setup([](CaseEnv& env) {
            env.Write("anim.png", std::string("GIF89a\x01\x00\x01\x00", 10));
          })
          .Run({"extract", "{dir}/anim.png", "-o", "{dir}/out"})
          .Exits(1)
          .Says({"anim.png", "PNG, JPEG, BMP, WebP or TIFF"}));
  add(Case("ExtractHugePngAlone")
          .Setup(HugePng)
          .Run({"extract", "{dir}/huge.png", "-o", "{dir}/out"})
          .Exits(1)
          .Says({"huge.png", "100000x100000", "100 megapixels"}));
  add(Case("ExtractHugeJpegAlone")
          .Setup([](CaseEnv& env) { env.Write("huge.jpg", testing::JpegHeader(65000, 65000)); })
          .Run({"extract", "{dir}/huge.jpg", "-o", "{dir}/out"})
          .Exits(1)
          .Says({"huge.jpg", "JPEG header declares 65000x65000", "100 megapixels"}));
  add(Case("ExtractHugeBmpAlone")
          .Setup([](CaseEnv& env) { env.Write("huge.bmp", testing::BmpHeader(50000, -50000)); })
          .Run({"extract", "{dir}/huge.bmp", "-o", "{dir}/out"})
          .Exits(1)
          .Says({"huge.bmp", "BMP header declares 50000x50000"}));
  add(Case("ExtractHugeWebpAlone")
          .Setup([](CaseEnv& env) { env.Write("huge.webp", testing::WebpHeader(16000, 16000)); })
          .Run({"extract", "{dir}/huge.webp", "-o", "{dir}/out"})
          .Exits(1)
          .Says({"huge.webp", "WebP header declares 16000x16000"}));
  add(Case("ExtractHugeTiffAlone")
          .Setup([](CaseEnv& env) { env.Write("huge.tif", testing::TiffHeader(70000, 10)); })
          .Run({"extract", "{dir}/huge.tif", "-o", "{dir}/out"})
          .Exits(1)
          .Says({"huge.tif", "65535 pixels a side"}));
  // In a folder a bad image is skipped and named; everything else is extracted (exit 3).
  add(Case("ExtractFolderWithHugeAndCorruptImages")
          .Setup([](CaseEnv& env) {
            env.Copy(testing::DataDir() + "/astronaut.png", "in/astronaut.png");
            env.Write("in/huge.png", testing::PngHeader(100000, 100000));
            env.Write("in/broken.jpg", "definitely not a jpeg");
          })
          .Run({"extract", "{dir}/in", "-o", "{dir}/out", "--no-faces"})
          .Exits(3)
          .Says({"huge.png: the PNG header declares 100000x100000", "broken.jpg",
                 "extracted 1 faces from 1 frames"})
          .Leaves({"out"}));
  add(Case("ExtractFilterImageTooLarge")
          .Setup(HugePng)
          .Run({"extract", "{data}/astronaut.png", "-o", "{dir}/out", "--filter", "{dir}/huge.png"})
          .Exits(1)
          .Says({"--filter {dir}/huge.png", "100000x100000"}));
  add(Case("ExtractHelpStatesTheImageLimit")
          .Run({"extract", "--help"})
          .Exits(0)
          .Says({"100 megapixels", "65535 pixels a side"}));
  add(Case("ExtractUnknownFlag")
          .Run({"extract", "{data}/astronaut.png", "-o", "{dir}/out", "--no-such-flag"})
          .Exits(2)
          .Says({"--no-such-flag"}));
  add(Case("ExtractMissingModels")
          .Run({"extract", "{data}/astronaut.png", "-o", "{dir}/out", "--models-dir",
                "{dir}/no-models"})
          .Exits(1)
          .Says({"scripts/setup"}));
  // Options out of range are usage errors (exit 2) found before any work: no out/ is made.
  // The job options' ranges and spellings are fsc.proto's (the same for fsc submit extract).
  for (const auto& [name, flag, value, says] : std::vector<std::array<std::string, 4>>{
           {"ExtractThreadsHuge", "--threads", "100000", "--threads 100000 not in 0..256"},
           {"ExtractThreadsNegative", "--threads", "-1", "--threads -1 not in 0..256"},
           {"ExtractEveryNZero", "--every-n", "0", "--every-n: 0 is outside 1..100000"},
           {"ExtractSizeNegative", "--size", "-5", "--size: -5 is outside 32..4096"},
           {"ExtractUnknownDetector", "--detector", "nope",
            "--detector: 'nope' is not one of: ssd, tiny, blazeface"},
           {"ExtractSmoothUnknown", "--smooth", "on", "--smooth: 'on' is not one of: auto, off"},
           {"ExtractStrengthHuge", "--strength", "9", "--strength: 9 is outside 0..8"},
           {"ExtractReFeedHuge", "--re-feed", "33", "--re-feed: 33 is outside 0..32"}}) {
    add(Case(name)
            .Run({"extract", "{data}/astronaut.png", "-o", "{dir}/out", flag, value})
            .Exits(2)
            .Says({says, "fsc extract --help"}));
  }

  // Alignments files that are not, are damaged, or come from a newer fsc.
  add(Case("AlignmentsDumpNotAlignments")
          .Setup([](CaseEnv& env) { env.Write("a.fsa", "hello"); })
          .Run({"alignments", "dump", "{dir}/a.fsa"})
          .Exits(1)
          .Says({"a.fsa", "not an fsc alignments file"}));
  add(Case("AlignmentsDumpGarbageAfterHeader")
          .Setup([](CaseEnv& env) { env.Write("a.fsa", std::string("FSCALN1\n\xff\xff\xff", 11)); })
          .Run({"alignments", "dump", "{dir}/a.fsa"})
          .Exits(1)
          .Says({"a.fsa", "truncated or corrupt"}));
  add(Case("AlignmentsDumpChecksumMismatch")
          .Setup([](CaseEnv& env) {
            std::string bytes = face::SerializeAlignments(OneFace(1.0f));
            bytes.back() ^= 0x01;  // one flipped bit in the payload
            env.Write("a.fsa", bytes);
          })
          .Run({"alignments", "dump", "{dir}/a.fsa"})
          .Exits(1)
          .Says({"a.fsa", "checksum"}));
  add(Case("AlignmentsDumpNonFiniteLandmark")
          .Setup([](CaseEnv& env) {
            env.Write("a.fsa", face::SerializeAlignments(OneFace(std::nanf(""))));
          })
          .Run({"alignments", "dump", "{dir}/a.fsa"})
          .Exits(1)
          .Says({"a.fsa", "frame 0", "landmark point 0", "not a finite number"}));
  add(Case("AlignmentsDumpAbsurdLandmark")
          .Setup(
              [](CaseEnv& env) { env.Write("a.fsa", face::SerializeAlignments(OneFace(1e30f))); })
          .Run({"alignments", "dump", "{dir}/a.fsa"})
          .Exits(1)
          .Says({"a.fsa", "far outside the frame"}));
  add(Case("AlignmentsDumpNewerVersion")
          .Setup([](CaseEnv& env) {
            proto::Alignments alignments;
            alignments.set_version(99);
            env.Write("a.fsa", "FSCALN1\n" + alignments.SerializeAsString());
          })
          .Run({"alignments", "dump", "{dir}/a.fsa"})
          .Exits(1)
          .Says({"a.fsa", "version 99"}));

  // Convert: hostile input, missing or damaged model; nothing may appear at OUTPUT.
  add(Case("ConvertHugePngInput")
          .Setup(HugePng)
          .Run({"convert", "{dir}/huge.png", "-m", "{dir}/model", "-o", "{dir}/out.png",
                "--alignments", "{dir}/align"})
          .Exits(1)
          .Says({"huge.png", "100000x100000", "100 megapixels"}));
  add(Case("ConvertMissingModel")
          .Run({"convert", "{data}/astronaut.png", "-m", "{dir}/model", "-o", "{dir}/out.png",
                "--alignments", "{dir}/a.fsa"})
          .Setup([](CaseEnv& env) {
            proto::Alignments alignments;
            alignments.set_version(1);
            env.Write("a.fsa", "FSCALN1\n" + alignments.SerializeAsString());
          })
          .Exits(1)
          .Says({"a.fsa"}));
  add(Case("ConvertCorruptModelManifest")
          .Setup([](CaseEnv& env) { env.Write("model/fsc_model.json", "{\"format\": \"fsc-tr"); })
          .Run({"convert", "{data}/astronaut.png", "-m", "{dir}/model", "-o", "{dir}/out.png",
                "--alignments", "{dir}/align"})
          .Exits(1)
          .Says({"align"}));

  for (const auto& [name, flag, value, says] : std::vector<std::array<std::string, 4>>{
           {"ConvertSwapUnknown", "--swap", "a-to-c", "--swap: 'a-to-c' is not one of: a-to-b"},
           {"ConvertMaskBlurHuge", "--mask-blur", "200", "--mask-blur: 200 is outside 0..128"},
           {"ConvertPresetUnknown", "--preset", "warp", "--preset: 'warp' is not one of: "},
           {"ConvertBatchZero", "--batch", "0", "--batch: 0 is outside 1..256"}}) {
    add(Case(name)
            .Run({"convert", "{data}/astronaut.png", "-m", "{dir}/model", "-o", "{dir}/out.png",
                  "--alignments", "{dir}/a.fsa", flag, value})
            .Exits(2)
            .Says({says, "fsc convert --help"}));
  }

  // Train: damaged checkpoints, architecture files and face folders.
  add(Case("TrainResumeCorruptManifest")
          .Setup([](CaseEnv& env) { env.Write("model/fsc_model.json", "{\"format\": \"fsc-tr"); })
          .Run({"train", "--resume", "{dir}/model", "--iterations", "1"})
          .Exits(1)
          .Says({"fsc_model.json", "truncated or corrupted"}));
  add(Case("TrainResumeManifestWrongTypes")
          .Setup([](CaseEnv& env) {
            env.Write("model/fsc_model.json",
                      R"({"format": "fsc-train-checkpoint", "format_version": "one"})");
          })
          .Run({"train", "--resume", "{dir}/model", "--iterations", "1"})
          .Exits(1)
          .Says({"fsc_model.json", "not a valid fsc checkpoint manifest"}));
  add(Case("TrainArchitectureNotJson")
          .Setup([](CaseEnv& env) {
            env.Write("arch.json", "{\"name\": ");
            env.Write("a/x.png", "");
            env.Write("b/x.png", "");
          })
          .Run({"train", "--a", "{dir}/a", "--b", "{dir}/b", "-m", "{dir}/model", "--architecture",
                "{dir}/arch.json"})
          .Exits(1)
          .Says({"--architecture", "arch.json", "not a readable JSON file"}));
  add(Case("TrainFacesNotFromFsc")
          .Setup([](CaseEnv& env) {
            env.Copy(testing::DataDir() + "/astronaut.png", "a/astronaut.png");
            env.Copy(testing::DataDir() + "/astronaut.png", "b/astronaut.png");
          })
          .Run({"train", "--a", "{dir}/a", "--b", "{dir}/b", "-m", "{dir}/model", "--iterations",
                "1"})
          .Exits(1)
          .Says({"astronaut.png", "no fsc face metadata"}));
  add(Case("TrainFaceDeclaringHugeSize")
          .Setup([](CaseEnv& env) {
            env.Write("a/face.png", FacePngDeclaring(100000));
            env.Write("b/face.png", FacePngDeclaring(100000));
          })
          .Run({"train", "--a", "{dir}/a", "--b", "{dir}/b", "-m", "{dir}/model", "--iterations",
                "1"})
          .Exits(1)
          .Says({"face.png: the PNG header declares 100000x100000"}));
  for (const auto& [name, flag, value, says] : std::vector<std::array<std::string, 4>>{
           {"TrainBatchZero", "--batch", "0", "--batch: 0 is outside 1..4096"},
           {"TrainIterationsNegative", "--iterations", "-5", "--iterations: -5 is outside 0.."},
           {"TrainThreadsHuge", "--threads", "100000", "0..256"},
           {"TrainLoaderThreadsZero", "--loader-threads", "0",
            "--loader-threads 0 not in 1..256"}}) {
    add(Case(name)
            .Run({"train", "--a", "{dir}/a", "--b", "{dir}/b", "-m", "{dir}/model", flag, value})
            .Exits(2)
            .Says({says, "fsc train --help"}));
  }

  // Verify: unreadable files are errors (exit 1, "error:"), never a verdict or a crash.
  add(Case("VerifyMissingFile")
          .Run({"verify", "{dir}/nope.png"})
          .Exits(1)
          .Says({"error:", "nope.png", "no such file"}));
  add(Case("VerifyTextFile")
          .Setup([](CaseEnv& env) { env.Write("notes.txt", "just text\n"); })
          .Run({"verify", "{dir}/notes.txt"})
          .Exits(1)
          .Says({"error:", "notes.txt", "neither a video nor an image"}));
  add(Case("VerifyHugePng")
          .Setup(HugePng)
          .Run({"verify", "{dir}/huge.png"})
          .Exits(1)
          .Says({"error:", "huge.png", "100000x100000"}));
  add(Case("VerifyHugePngWithoutExtension")
          .Setup([](CaseEnv& env) { env.Write("huge", testing::PngHeader(100000, 100000)); })
          .Run({"verify", "{dir}/huge"})
          .Exits(1)
          .Says({"error:", "100000x100000"}));

  // The cluster verbs: a coordinator that refuses, jobs that do not exist.
  add(Case("ClusterWrongToken")
          .Cluster()
          .Run({"jobs", "--token", "not-a-real-token"})
          .Exits(1)
          .Says({"refused the token", "fsc-coordinator token create"}));
  add(Case("ClusterRevokedToken")
          .Cluster()
          .Setup([](CaseEnv& env) {
            std::string made = env.TokenAdmin({"create", "--user", "mallory", "--json"});
            nlohmann::json token = nlohmann::json::parse(made, nullptr, false);
            ASSERT_TRUE(token.is_object() && token.contains("token")) << made;
            env.vars["token"] = token["token"].get<std::string>();
            env.TokenAdmin({"revoke", "--user", "mallory"});
          })
          .Run({"jobs", "--token", "{token}"})
          .Exits(1)
          .Says({"refused the token"}));
  add(Case("ClusterCancelEndedJob")
          .Cluster()
          .Setup([](CaseEnv& env) {
            // No workers: the job stays queued until the first cancel ends it.
            util::ProcessResult submitted =
                env.Fsc({"submit", "extract", testing::DataDir() + "/astronaut.png"});
            ASSERT_EQ(submitted.exit_code, 0) << submitted.out;
            env.vars["job"] = submitted.out.substr(0, submitted.out.find('\n'));
            util::ProcessResult cancelled = env.Fsc({"cancel", env.vars["job"]});
            ASSERT_EQ(cancelled.exit_code, 0) << cancelled.out;
          })
          .Run({"cancel", "{job}"})
          .Exits(1)
          .Says({"{job}", "already ended (cancelled)"}));
  add(Case("ClusterUnknownJob")
          .Cluster()
          .Run({"job", "0123456789abcdef"})
          .Exits(1)
          .Says({"no job '0123456789abcdef'"}));
  // gRPC aborts the process on a header value with control bytes: the client refuses it first.
  add(Case("ClusterTokenWithLineBreak")
          .Cluster()
          .Run({"jobs", "--token", "abc\r\ndef"})
          .Exits(1)
          .Says({"the token from --token", "0x0d at position 4", "fsc-coordinator token create"}));
  // A hand-edited cluster record: the file, the field and what to do, before anything starts.
  add(Case("ClusterUpRecordWithAStringPort")
          .Setup([](CaseEnv& env) {
            env.Write("state/cluster.json", R"({"port": "8080", "insecure": false})");
          })
          .Run({"cluster", "up", "--local", "--workers", "0", "--dir", "{dir}/state"})
          .Exits(1)
          .Says({"state/cluster.json: \"port\" must be a port number, not \"8080\"",
                 "fsc cluster down --dir", "delete the file"}));
  add(Case("ClusterUpRecordWithAWrongMetricsPort")
          .Setup([](CaseEnv& env) {
            env.Write("state/cluster.json", R"({"port": 1, "metrics_ports": {"worker-0": true}})");
          })
          .Run({"cluster", "up", "--local", "--workers", "0", "--dir", "{dir}/state"})
          .Exits(1)
          .Says({"cluster.json: \"metrics_ports\".\"worker-0\" must be a port number, not true"}));
  add(Case("WorkerJoinTokenWithLineBreak")
          .Binary("fsc-worker")
          .Run({"--coordinator", "127.0.0.1:1", "--join-token", "abc\ndef"})
          .Exits(2)
          .Says({"the token from --join-token", "0x0a at position 4"}));

  // Every number flag has a range, checked before anything else happens (exit 2, usage).
  add(Case("SubmitPriorityOutOfRange")
          .Run({"submit", "extract", "{data}/astronaut.png", "--priority", "10"})
          .Exits(2)
          .Says({"--priority 10 not in 0..9", "fsc submit"}));
  add(Case("SubmitExtractMaxGapOutOfRange")
          .Run({"submit", "extract", "{data}/astronaut.png", "--max-gap", "61"})
          .Exits(2)
          .Says({"--max-gap: 61 is outside 0..60", "fsc submit extract --help"}));
  add(Case("SubmitSwapColorUnknown")
          .Run({"submit", "swap", "{data}/astronaut.png", "{data}/astronaut.png", "--color",
                "sepia"})
          .Exits(2)
          .Says({"--color: 'sepia' is not one of: none, avg-color", "fsc submit swap --help"}));
  add(Case("JobsNegativeLimit")
          .Run({"jobs", "--limit", "-1"})
          .Exits(2)
          .Says({"--limit -1 not in"}));
  add(Case("TrainLearningRateNaN")
          .Run({"train", "--a", "{dir}/a", "--b", "{dir}/b", "-m", "{dir}/model", "--lr", "nan"})
          .Exits(2)
          .Says({"--lr expects a number, got 'nan'"}));
  add(Case("WorkerThreadsHuge")
          .Binary("fsc-worker")
          .Run({"--coordinator", "127.0.0.1:1", "--threads", "100000"})
          .Exits(2)
          .Says({"--threads 100000 not in 1..256"}));
  // A long-poll of 0 would be a busy loop of RPCs: refused, not silently raised.
  add(Case("WorkerLeaseWaitZero")
          .Binary("fsc-worker")
          .Run({"--coordinator", "127.0.0.1:1", "--lease-wait-ms", "0"})
          .Exits(2)
          .Says({"--lease-wait-ms 0 not in 100..60000"}));
  // Longer than the coordinator holds a request (it would refuse every one).
  add(Case("WorkerLeaseWaitLongerThanTheCoordinatorHolds")
          .Binary("fsc-worker")
          .Run({"--coordinator", "127.0.0.1:1", "--lease-wait-ms", "60001"})
          .Exits(2)
          .Says({"--lease-wait-ms 60001 not in 100..60000"}));
  return cases;
}

// --- the runner --------------------------------------------------------------------------------

std::string Substitute(std::string text, const std::map<std::string, std::string>& vars) {
  for (const auto& [key, value] : vars) {
    const std::string token = "{" + key + "}";
    for (size_t at = text.find(token); at != std::string::npos;
         at = text.find(token, at + value.size())) {
      text.replace(at, token.size(), value);
    }
  }
  return text;
}

// Everything under `dir`: relative path -> size and modification time (folders: "dir").
std::map<std::string, std::string> Listing(const std::string& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    struct stat st {};
    const std::string relative = fs::relative(it->path(), dir).string();
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    out[relative] = S_ISDIR(st.st_mode)
                        ? "dir"
                        : std::to_string(st.st_size) + "@" + std::to_string(st.st_mtim.tv_sec) +
                              "." + std::to_string(st.st_mtim.tv_nsec);
  }
  return out;
}

bool Allowed(const std::string& path, const std::vector<std::string>& leaves) {
  for (const std::string& leave : leaves) {
    if (path == leave || path.rfind(leave + "/", 0) == 0) return true;
  }
  return false;
}

// The process environment of every command: nothing from the caller's FSC_* settings, a home
// and TMPDIR of the row's own.
std::vector<std::string> EnvPrefix(const std::string& home, const std::string& tmp,
                                   const testing::LocalCluster* cluster) {
  std::vector<std::string> argv = {"env"};
  for (const char* name : {"FSC_COORDINATOR", "FSC_TOKEN", "FSC_TLS_CA", "FSC_TLS_CERT",
                           "FSC_TLS_KEY", "FSC_INSECURE", "FSC_CONFIG", "XDG_CONFIG_HOME"}) {
    argv.push_back("-u");
    argv.push_back(name);
  }
  argv.push_back("HOME=" + home);
  argv.push_back("TMPDIR=" + tmp);
  argv.push_back("OMP_NUM_THREADS=1");
  if (cluster != nullptr) argv.push_back("FSC_CONFIG=" + cluster->config());
  return argv;
}

struct Sandbox {
  std::string home = testing::MakeTempDir("fsc-bad-home");
  std::string tmp = testing::MakeTempDir("fsc-bad-tmp");
};
Sandbox* sandbox = nullptr;  // of the running row, for CaseEnv::Fsc

util::ProcessResult RunBinary(const std::string& binary, const std::vector<std::string>& args,
                              const testing::LocalCluster* cluster) {
  std::vector<std::string> argv = EnvPrefix(sandbox->home, sandbox->tmp, cluster);
  argv.push_back(testing::BinDir() + "/" + binary);
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<util::ProcessResult> run = util::RunProcess(argv);
  EXPECT_TRUE(run.ok()) << run.status();
  return run.ok() ? *run : util::ProcessResult{};
}

util::ProcessResult CaseEnv::Fsc(const std::vector<std::string>& args) const {
  util::ProcessResult run = RunBinary("fsc", args, cluster);
  run.out += run.err;
  return run;
}

std::string CaseEnv::TokenAdmin(std::vector<std::string> args) const {
  args.insert(args.begin(), "token");
  args.insert(args.end(), {"--db", cluster->dir() + "/coordinator.db"});
  util::ProcessResult run = RunBinary("fsc-coordinator", args, nullptr);
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  return run.out;
}

class BadInputTest : public ::testing::TestWithParam<Case> {};

TEST_P(BadInputTest, ClearErrorAndNothingLeftBehind) {
  const Case& row = GetParam();
  Sandbox box;
  sandbox = &box;
  CaseEnv env;
  env.dir = testing::MakeTempDir("fsc-bad-input");
  std::unique_ptr<testing::LocalCluster> cluster;
  if (row.cluster) {
    cluster = std::make_unique<testing::LocalCluster>(row.cluster_workers);
    ASSERT_TRUE(cluster->ok()) << cluster->up_result().output;
    env.cluster = cluster.get();
  }
  if (row.setup) row.setup(env);
  ASSERT_FALSE(HasFatalFailure());
  std::map<std::string, std::string> vars = env.vars;
  vars["dir"] = env.dir;
  vars["data"] = testing::DataDir();
  vars["models"] = testing::ModelsDir();
  std::vector<std::string> args;
  for (const std::string& arg : row.args) args.push_back(Substitute(arg, vars));
  const std::map<std::string, std::string> before = Listing(env.dir);

  util::ProcessResult run = RunBinary(row.binary, args, env.cluster);
  const std::string output = run.out + run.err;
  std::string command = row.binary;
  for (const std::string& arg : args) command += " " + arg;
  SCOPED_TRACE(command + "\n" + output);

  EXPECT_EQ(run.exit_code, row.exit_code);
  for (const std::string& part : row.says) {
    EXPECT_NE(output.find(Substitute(part, vars)), std::string::npos)
        << "the message does not say \"" << Substitute(part, vars) << "\"";
  }
  for (const char* crash : {"terminate called", "what():", "Aborted", "Segmentation fault",
                            "AddressSanitizer", "core dumped"}) {
    EXPECT_EQ(output.find(crash), std::string::npos) << "crash marker \"" << crash << "\"";
  }
  const std::map<std::string, std::string> after = Listing(env.dir);
  for (const auto& [path, stamp] : after) {
    auto it = before.find(path);
    if (Allowed(path, row.leaves)) continue;
    EXPECT_TRUE(it != before.end()) << "left behind: " << path;
    if (it != before.end()) {
      EXPECT_EQ(it->second, stamp) << "changed: " << path;
    }
  }
  for (const auto& [path, stamp] : before) {
    EXPECT_TRUE(after.count(path) || Allowed(path, row.leaves)) << "removed: " << path;
  }
  EXPECT_TRUE(fs::is_empty(box.tmp)) << "temporary files left in TMPDIR " << box.tmp;

  sandbox = nullptr;
  std::error_code ec;
  if (!HasFailure()) {
    fs::remove_all(env.dir, ec);
    fs::remove_all(box.tmp, ec);
  }
  fs::remove_all(box.home, ec);
}

INSTANTIATE_TEST_SUITE_P(Cases, BadInputTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace fsc
