// The verb table and top-level help of the fsc client.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"

namespace fsc::cli {
namespace {

struct Verb {
  const char* name;
  const char* summary;
  int (*run)(const Args&);
};

const Verb kVerbs[] = {
    {"extract", "detect, align and crop faces from a video, an image or a folder of images",
     RunExtractCommand},
    {"alignments", "inspect an alignments file (dump as JSON)", RunAlignmentsCommand},
    {"train", "train a face-swap model on two folders of faces (resumable)", RunTrainCommand},
    {"convert", "swap faces into a video or images with a trained model (labelled synthetic)",
     RunConvertCommand},
    {"verify", "check a video or image for fsc's synthetic label (watermark, metadata)",
     RunVerifyCommand},
    {"eval", "measure a swap against its source: identity, pose, expression, flicker, seams",
     RunEvalCommand},
    {"bench", "measure speed (bench train: the training step on random data)", RunBenchCommand},
    {"cluster", "start, stop or inspect a cluster (up --local, down, status)", RunClusterCommand},
    {"submit", "run extract, convert, train or swap on the cluster", RunSubmitCommand},
    {"jobs", "list your jobs on the cluster", RunJobsCommand},
    {"job", "show one job: state, tasks, artifacts", RunJobCommand},
    {"logs", "print or follow (-f) a job's log and progress", RunLogsCommand},
    {"cancel", "cancel one of your jobs", RunCancelCommand},
    {"dataset", "upload inputs to the cluster, list them, remove them", RunDatasetCommand},
    {"fetch", "download a finished job's results", RunFetchCommand},
    {"preview", "save the latest training preview of a job (--wait for the first)",
     RunPreviewCommand},
    {"model", "inspect trained model folders (diff: compare two models' weights)", RunModelCommand},
};

void PrintHelp() {
  std::cout << "usage: fsc VERB [options]   (fsc VERB --help for a verb's options)\n\n"
               "fsc extracts faces, trains face-swap models and converts videos.\n\nverbs:\n";
  for (const Verb& verb : kVerbs) std::printf("  %-12s %s\n", verb.name, verb.summary);
}

}  // namespace

int Dispatch(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    PrintHelp();
    return args.empty() ? 2 : 0;
  }
  for (const Verb& verb : kVerbs) {
    if (args[0] == verb.name) return verb.run(Args(args.begin() + 1, args.end()));
  }
  std::cerr << "fsc: unknown verb '" << args[0] << "' (see 'fsc --help')\n";
  return 2;
}

}  // namespace fsc::cli
