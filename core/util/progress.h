// Progress reporting for long work. On a terminal: a redrawn bar with count, rate and ETA. Not on
// a terminal (logs, CI, pipes): a plain line at most every few seconds, so logs stay readable.
#ifndef FSC_CORE_UTIL_PROGRESS_H_
#define FSC_CORE_UTIL_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace fsc::util {

class Progress {
 public:
  // `total` of 0 means unknown (no bar, no ETA). `unit` names what is counted ("frames").
  // `first` is the count already done when this run starts (a resumed training): the rate and
  // the ETA count only what this run does.
  Progress(std::string label, int64_t total, std::string unit, std::FILE* out = stderr,
           int64_t first = 0);
  ~Progress();

  // Reports that `done` items are complete; cheap to call on every item.
  void Update(int64_t done);
  // Prints the final line (total, elapsed, mean rate). Called by the destructor if not before.
  void Finish();

  // Text of one report line, exposed for tests. `elapsed_s` since start, when `first` were done.
  static std::string Format(const std::string& label, const std::string& unit, int64_t done,
                            int64_t total, double elapsed_s, bool bar, int64_t first = 0);

 private:
  std::string label_;
  int64_t total_;
  std::string unit_;
  std::FILE* out_;
  bool terminal_;
  bool finished_ = false;
  int64_t first_;
  int64_t done_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
};

}  // namespace fsc::util

#endif  // FSC_CORE_UTIL_PROGRESS_H_
