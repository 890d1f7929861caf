// Helpers for the metrics integration tests: a real Prometheus server (Debian's prometheus
// package) run as a child process, its HTTP API, reading a Prometheus text exposition, the metric
// names a PromQL expression uses, and the metrics ports `fsc cluster up --local` gave a cluster's
// processes.
#ifndef FSC_TESTS_INTEGRATION_METRICS_HARNESS_H_
#define FSC_TESTS_INTEGRATION_METRICS_HARNESS_H_

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/util/file_io.h"
#include "tests/http_get.h"
#include "tests/test_paths.h"

namespace fsc::testing {

// Runs `prometheus --config.file=DIR/prometheus.yml` on 127.0.0.1:port until the end of the scope
// (its log: DIR/prometheus.log, its data: DIR/data).
class PrometheusProcess {
 public:
  PrometheusProcess(const std::string& dir, int port) : dir_(dir) {
    const std::string log = dir + "/prometheus.log";
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = std::freopen(log.c_str(), "w", stdout);
      if (out == nullptr || dup2(fileno(stdout), STDERR_FILENO) < 0) _exit(126);
      const std::string config = "--config.file=" + dir + "/prometheus.yml";
      const std::string storage = "--storage.tsdb.path=" + dir + "/data";
      const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port);
      execlp("prometheus", "prometheus", config.c_str(), storage.c_str(), listen.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~PrometheusProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::string Log() const { return util::ReadFile(dir_ + "/prometheus.log").value_or(""); }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

// GET `path` from Prometheus' HTTP API as JSON (null when there is no answer yet).
inline nlohmann::json PrometheusApi(int port, const std::string& path) {
  HttpResponse response = HttpGet(port, path);
  if (response.status != 200) return nullptr;
  nlohmann::json json = nlohmann::json::parse(response.body, nullptr, false);
  return json.is_discarded() ? nlohmann::json() : json;
}

// Percent-encodes a PromQL query for a URL.
inline std::string UrlEncode(const std::string& text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The result vector of an instant query (empty while there is none).
inline nlohmann::json PrometheusQuery(int port, const std::string& query) {
  nlohmann::json answer = PrometheusApi(port, "/api/v1/query?query=" + UrlEncode(query));
  if (answer.is_null() || answer.value("status", "") != "success") return nlohmann::json::array();
  return answer["data"]["result"];
}

// A series as "name" or "name{labels}" with its labels sorted, so that two spellings of one series
// compare equal whatever order their labels are written in.
inline std::string CanonicalSeries(const std::string& series) {
  const size_t open = series.find('{');
  if (open == std::string::npos || series.back() != '}') return series;
  std::vector<std::string> labels;
  std::string label;
  bool quoted = false;
  for (size_t i = open + 1; i + 1 < series.size(); ++i) {
    const char c = series[i];
    if (c == ',' && !quoted) {
      labels.push_back(label);
      label.clear();
      continue;
    }
    if (c == '"' && series[i - 1] != '\\') quoted = !quoted;
    label += c;
  }
  if (!label.empty()) labels.push_back(label);
  std::sort(labels.begin(), labels.end());
  std::string out = series.substr(0, open) + "{";
  for (size_t i = 0; i < labels.size(); ++i) out += (i ? "," : "") + labels[i];
  return out + "}";
}

// The value of `series` ("name" or "name{labels}", labels in any order) in an exposition, or NaN.
inline double SeriesValue(const std::string& text, const std::string& series) {
  const std::string wanted = CanonicalSeries(series);
  double value = std::nan("");
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    // The series ends at the last space outside the label quotes: the value follows it.
    const size_t close = line.rfind('}');
    const size_t space = line.find(' ', close == std::string::npos ? 0 : close);
    if (space == std::string::npos) continue;
    if (CanonicalSeries(line.substr(0, space)) == wanted) {
      value = std::strtod(line.c_str() + space + 1, nullptr);
    }
  }
  return value;
}

// The sample names of an exposition (histograms as their _bucket, _sum and _count series).
inline std::set<std::string> SampleNames(const std::string& exposition) {
  std::set<std::string> names;
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t end = line.find_first_of("{ ");
    names.insert(line.substr(0, end));
  }
  return names;
}

// The metric names a PromQL expression selects: identifiers that are not functions or
// aggregations (followed by '('), keywords, label names (inside {...} or by/without/on/ignoring/
// group_left/group_right lists), aggregation operators, strings, durations ([5m]) or numbers.
inline std::set<std::string> PromQlMetricNames(const std::string& expr) {
  // Aggregations count as keywords: they may put their by/without before the parenthesis.
  static const std::set<std::string> kKeywords = {
      "by",     "without", "on",   "ignoring", "group_left", "group_right", "and",
      "or",     "unless",  "bool", "offset",   "inf",        "nan",         "Inf",
      "NaN",    "sum",     "avg",  "min",      "max",        "count",       "group",
      "stddev", "stdvar",  "topk", "bottomk",  "quantile",   "count_values"};
  std::set<std::string> names;
  for (size_t i = 0; i < expr.size();) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {  // a string: skip to its closing quote
      size_t j = i + 1;
      while (j < expr.size() && expr[j] != c) j += expr[j] == '\\' ? 2 : 1;
      i = j + 1;
      continue;
    }
    if (c == '{' || c == '[') {  // label matchers, range or subquery durations
      i = expr.find(c == '{' ? '}' : ']', i);
      if (i == std::string::npos) break;
      ++i;
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':') {
      size_t j = i;
      while (j < expr.size() && (std::isalnum(static_cast<unsigned char>(expr[j])) ||
                                 expr[j] == '_' || expr[j] == ':')) {
        ++j;
      }
      const std::string word = expr.substr(i, j - i);
      size_t k = j;
      while (k < expr.size() && std::isspace(static_cast<unsigned char>(expr[k]))) ++k;
      const bool call = k < expr.size() && expr[k] == '(';
      if (call && (word == "by" || word == "without" || word == "on" || word == "ignoring" ||
                   word == "group_left" || word == "group_right")) {
        i = expr.find(')', k);  // a list of label names
        if (i == std::string::npos) break;
        ++i;
        continue;
      }
      if (!call && kKeywords.count(word) == 0) names.insert(word);
      i = j;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {  // numbers (1e-3, 0x1f, 5m)
      size_t j = i;
      while (j < expr.size() && (std::isalnum(static_cast<unsigned char>(expr[j])) ||
                                 expr[j] == '.' || expr[j] == '+' || expr[j] == '-')) {
        if ((expr[j] == '+' || expr[j] == '-') && !(expr[j - 1] == 'e' || expr[j - 1] == 'E')) {
          break;
        }
        ++j;
      }
      i = j;
      continue;
    }
    ++i;
  }
  return names;
}

// Starts `fsc ARGS...` with stdout and stderr going to `log`; returns its pid.
inline pid_t SpawnFsc(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  FILE* out = std::freopen(log.c_str(), "w", stdout);
  if (out == nullptr || dup2(fileno(stdout), STDERR_FILENO) < 0) _exit(126);
  std::vector<std::string> argv_strings = {BinDir() + "/fsc"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  execv(argv[0], argv.data());
  _exit(127);
}

// Process name ("coordinator", "worker-1") -> metrics port, from a local cluster's cluster.json.
inline std::map<std::string, int> ClusterMetricsPorts(const std::string& cluster_dir) {
  std::map<std::string, int> ports;
  nlohmann::json record = ReadJson(cluster_dir + "/cluster.json");
  if (!record.is_object() || !record.contains("metrics_ports")) return ports;
  for (const auto& [name, port] : record["metrics_ports"].items()) ports[name] = port.get<int>();
  return ports;
}

}  // namespace fsc::testing

#endif  // FSC_TESTS_INTEGRATION_METRICS_HARNESS_H_
