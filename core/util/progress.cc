// Terminal bar and plain-line progress output.
#include "core/util/progress.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_format.h"

namespace fsc::util {
namespace {

std::string Duration(double seconds) {
  int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return absl::StrFormat("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

}  // namespace

Progress::Progress(std::string label, int64_t total, std::string unit, std::FILE* out,
                   int64_t first)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      out_(out),
      terminal_(isatty(fileno(out)) != 0),
      first_(first),
      done_(first),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

Progress::~Progress() { Finish(); }

std::string Progress::Format(const std::string& label, const std::string& unit, int64_t done,
                             int64_t total, double elapsed_s, bool bar, int64_t first) {
  const double rate = elapsed_s > 0 ? std::max<int64_t>(0, done - first) / elapsed_s : 0.0;
  std::string text = label + " ";
  if (total > 0) {
    double fraction = std::min(1.0, static_cast<double>(done) / total);
    if (bar) {
      const int width = 30;
      int filled = static_cast<int>(fraction * width);
      text += "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
    }
    text += absl::StrFormat("%d/%d %s (%.0f%%) %.1f %s/s", done, total, unit, fraction * 100, rate,
                            unit);
    if (rate > 0 && done < total) {
      text += " ETA " + Duration((total - done) / rate);
    } else {
      text += " elapsed " + Duration(elapsed_s);
    }
  } else {
    text +=
        absl::StrFormat("%d %s %.1f %s/s elapsed %s", done, unit, rate, unit, Duration(elapsed_s));
  }
  return text;
}

void Progress::Update(int64_t done) {
  done_ = done;
  auto now = std::chrono::steady_clock::now();
  double since_print = std::chrono::duration<double>(now - last_print_).count();
  double interval = terminal_ ? 0.1 : 5.0;
  if (since_print < interval) return;
  last_print_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  std::string line = Format(label_, unit_, done_, total_, elapsed, terminal_, first_);
  if (terminal_) {
    std::fprintf(out_, "\r%s\x1b[K", line.c_str());
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void Progress::Finish() {
  if (finished_) return;
  finished_ = true;
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string line = Format(label_, unit_, done_, total_, elapsed, terminal_, first_);
  std::fprintf(out_, terminal_ ? "\r%s\x1b[K\n" : "%s\n", line.c_str());
  std::fflush(out_);
}

}  // namespace fsc::util
