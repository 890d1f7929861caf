// Watermark speed: milliseconds per frame of EmbedWatermark (runs on every frame `fsc convert`
// writes) and DetectWatermark (what `fsc verify` runs per sampled frame), next to a peer measured
// in the same run: one OpenCV BGR->YCrCb conversion of the same frame, the cheapest whole-frame
// pass any luma watermark needs.
//
//   watermark_bench [--sizes 720x528,1280x720,1920x1080] [--iterations 50] [--rounds 3]
//                   [--json]
//
// Frames are frame 100 of data/Megamind.avi resized to each size. Rounds alternate the
// three measurements; the best (fastest) round of each is reported, as the machine may be shared.
#include <time.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/convert/watermark.h"
#include "core/util/flags.h"
#include "core/util/malloc_tuning.h"

namespace {

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

// Mean milliseconds per call of `fn` over `iterations` calls: CPU time of this thread (OpenCV
// runs single-threaded here), which a machine shared with builds inflates far less than wall
// time.
template <typename Fn>
double MeanMs(int iterations, Fn fn) {
  const double start = ThreadCpuMs();
  for (int i = 0; i < iterations; ++i) fn();
  return (ThreadCpuMs() - start) / iterations;
}

}  // namespace

int main(int argc, char** argv) {
  fsc::util::KeepFreedMemoryForReuse();  // as the fsc binaries do
  std::string sizes_flag = "720x528,1280x720,1920x1080", video = "data/Megamind.avi";
  int iterations = 50, rounds = 3;
  bool json = false;
  fsc::util::FlagSet flags("watermark_bench", "[options]",
                           "Milliseconds per frame of the watermark's embed and detect, next to "
                           "one BGR->YCrCb conversion.");
  flags.String("sizes", 0, &sizes_flag, "frame sizes, WxH separated by commas");
  flags.String("video", 0, &video, "video whose first frame is the test frame");
  flags.Int("iterations", 0, &iterations, "calls per round");
  flags.Int("rounds", 0, &rounds, "alternating rounds; the best is reported");
  flags.Bool("json", 0, &json, "print JSON");
  std::vector<std::string> positional;
  if (auto exit_code =
          flags.ParseOrExit(std::vector<std::string>(argv + 1, argv + argc), &positional)) {
    return *exit_code;
  }
  cv::setNumThreads(1);  // per-frame cost; convert embeds on its own worker threads
  cv::VideoCapture capture(video);
  cv::Mat first;
  // Frame 100: the first frames of the sample video are black.
  for (int i = 0; i <= 100 && capture.read(first); ++i) continue;
  if (first.empty()) {
    std::cerr << "watermark_bench: cannot read a frame from " << video << "\n";
    return 1;
  }
  nlohmann::json results = nlohmann::json::array();
  for (absl::string_view text : absl::StrSplit(sizes_flag, ',')) {
    std::vector<std::string> wh = absl::StrSplit(text, 'x');
    int width = 0, height = 0;
    if (wh.size() != 2 || !absl::SimpleAtoi(wh[0], &width) || !absl::SimpleAtoi(wh[1], &height) ||
        width < fsc::convert::kMinWatermarkSide || height < fsc::convert::kMinWatermarkSide) {
      std::cerr << "watermark_bench: bad size '" << text << "' (WxH, both >= 64)\n";
      return 2;
    }
    cv::Mat frame, work, ycc;
    cv::resize(first, frame, cv::Size(width, height), 0, 0, cv::INTER_AREA);
    work = frame.clone();
    fsc::convert::EmbedWatermark(&work);  // builds the per-size cache, not timed
    double embed = 1e30, detect = 1e30, peer = 1e30, z = 0;
    for (int r = 0; r < rounds; ++r) {
      embed = std::min(embed, MeanMs(iterations, [&] {
                         frame.copyTo(work);
                         fsc::convert::EmbedWatermark(&work);
                       }));
      detect =
          std::min(detect, MeanMs(iterations, [&] { z = fsc::convert::DetectWatermark(work).z; }));
      peer = std::min(peer, MeanMs(iterations, [&] {
                        frame.copyTo(work);
                        cv::cvtColor(work, ycc, cv::COLOR_BGR2YCrCb);
                      }));
    }
    work = frame.clone();
    fsc::convert::EmbedWatermark(&work);
    z = fsc::convert::DetectWatermark(work).z;
    results.push_back({{"width", width},
                       {"height", height},
                       {"embed_ms", embed},
                       {"detect_ms", detect},
                       {"peer_bgr_to_ycrcb_ms", peer},
                       {"z", z}});
    if (!json) {
      std::printf(
          "%5dx%-5d embed %.3f ms  detect %.2f ms  | peer copy+BGR->YCrCb %.3f ms  "
          "(embed/peer %.2fx, z %.1f)\n",
          width, height, embed, detect, peer, embed / peer, z);
    }
  }
  if (json) std::cout << results.dump(2) << "\n";
  return 0;
}
