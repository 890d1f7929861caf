// process_* metrics from /proc/self (see process_metrics.h).
#include "core/metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fsc::metrics {
namespace {

std::optional<std::string> ReadProcFile(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

double TicksPerSecond() { return static_cast<double>(sysconf(_SC_CLK_TCK)); }
double PageSize() { return static_cast<double>(sysconf(_SC_PAGESIZE)); }

std::optional<ProcStat> ReadSelfStat() {
  std::optional<std::string> text = ReadProcFile("/proc/self/stat");
  if (!text) return std::nullopt;
  absl::StatusOr<ProcStat> stat = ParseProcStat(*text, TicksPerSecond(), PageSize());
  if (!stat.ok()) return std::nullopt;
  return *stat;
}

std::optional<double> OpenFds() {
  std::error_code error;
  std::filesystem::directory_iterator it("/proc/self/fd", error);
  if (error) return std::nullopt;
  double count = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (error) return std::nullopt;
    ++count;
  }
  return count;
}

std::optional<double> MaxFds() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return static_cast<double>(limit.rlim_cur);
}

}  // namespace

absl::StatusOr<ProcStat> ParseProcStat(absl::string_view text, double ticks_per_second,
                                       double page_size) {
  // "PID (COMM) STATE PPID ...": COMM may contain anything, so fields restart after the last ')'.
  const size_t close = text.rfind(')');
  if (close == absl::string_view::npos) {
    return absl::InvalidArgumentError("/proc stat: no ')' after the command name");
  }
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(text.substr(close + 1)), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state) of proc(5); field N is fields[N - 3].
  auto field = [&](int n, double* value) {
    const size_t index = static_cast<size_t>(n - 3);
    return index < fields.size() && absl::SimpleAtod(fields[index], value);
  };
  double utime, stime, threads, start, vsize, rss;
  if (!field(14, &utime) || !field(15, &stime) || !field(20, &threads) || !field(22, &start) ||
      !field(23, &vsize) || !field(24, &rss)) {
    return absl::InvalidArgumentError(
        absl::StrCat("/proc stat: expected at least 24 numeric fields, got ", fields.size() + 2));
  }
  ProcStat stat;
  stat.cpu_seconds = (utime + stime) / ticks_per_second;
  stat.threads = threads;
  stat.start_seconds_after_boot = start / ticks_per_second;
  stat.virtual_bytes = vsize;
  stat.resident_bytes = rss * page_size;
  return stat;
}

absl::StatusOr<double> ParseBootTime(absl::string_view proc_stat) {
  for (absl::string_view line : absl::StrSplit(proc_stat, '\n')) {
    if (!absl::ConsumePrefix(&line, "btime ")) continue;
    double seconds;
    if (absl::SimpleAtod(line, &seconds)) return seconds;
  }
  return absl::NotFoundError("/proc/stat: no btime line");
}

ProcessCollector::ProcessCollector() {
  std::optional<std::string> proc_stat = ReadProcFile("/proc/stat");
  std::optional<ProcStat> self = ReadSelfStat();
  if (!proc_stat || !self) return;
  absl::StatusOr<double> boot = ParseBootTime(*proc_stat);
  if (boot.ok()) start_time_ = *boot + self->start_seconds_after_boot;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  auto add = [&families](prometheus::MetricFamily family, std::optional<double> value) {
    if (value) AddSample(&family, {}, *value);  // an unreadable value leaves the series out
    families.push_back(std::move(family));
  };
  const std::optional<ProcStat> stat = ReadSelfStat();
  auto field = [&stat](double ProcStat::*member) -> std::optional<double> {
    if (!stat) return std::nullopt;
    return (*stat).*member;
  };
  add(CounterFamily("process_cpu_seconds_total",
                    "Total user and system CPU time spent in seconds."),
      field(&ProcStat::cpu_seconds));
  add(GaugeFamily("process_resident_memory_bytes", "Resident memory size in bytes."),
      field(&ProcStat::resident_bytes));
  add(GaugeFamily("process_virtual_memory_bytes", "Virtual memory size in bytes."),
      field(&ProcStat::virtual_bytes));
  add(GaugeFamily("process_threads", "Number of OS threads in the process."),
      field(&ProcStat::threads));
  add(GaugeFamily("process_open_fds", "Number of open file descriptors."), OpenFds());
  add(GaugeFamily("process_max_fds", "Maximum number of open file descriptors."), MaxFds());
  add(GaugeFamily("process_start_time_seconds",
                  "Start time of the process since unix epoch in seconds."),
      start_time_);
  return families;
}

void ExportProcessMetrics(Exposition* exposition) {
  static const ProcessCollector* collector = new ProcessCollector();  // never destroyed
  exposition->Add(collector);
}

}  // namespace fsc::metrics
