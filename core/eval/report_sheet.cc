// The report sheet: sample frames and faces, and per-frame plots drawn with OpenCV.
#include "core/eval/report_sheet.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/eval/report_format.h"
#include "core/util/file_io.h"

namespace fsc::eval {
namespace {

constexpr int kWidth = 1000;
constexpr int kMargin = 20;
constexpr int kPlotHeight = 210;
const cv::Scalar kBackground(255, 255, 255);
const cv::Scalar kInk(40, 40, 40);
const cv::Scalar kGrid(225, 225, 225);
const cv::Scalar kBlue(200, 110, 30);
const cv::Scalar kOrange(30, 140, 240);
const cv::Scalar kGreen(60, 160, 60);
const cv::Scalar kRed(60, 60, 220);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

void Text(cv::Mat& canvas, const std::string& text, cv::Point at, double scale = 0.5,
          const cv::Scalar& colour = kInk, int thickness = 1) {
  cv::putText(canvas, text, at, kFont, scale, colour, thickness, cv::LINE_AA);
}

// A per-frame series: x the frame, y the value; NaN values and jumps of more than one frame break
// the line.
struct Series {
  std::string name;
  cv::Scalar colour;
  std::vector<cv::Point2d> points;
};

// A round step for about `ticks` intervals over `range`.
double NiceStep(double range, int ticks) {
  const double raw = range / ticks;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

void DrawPlot(cv::Mat& canvas, cv::Rect area, const std::string& title,
              const std::vector<Series>& series, double x_low, double x_high,
              double reference = NAN) {
  double y_high = std::isfinite(reference) ? reference : 0;
  for (const Series& s : series) {
    for (const cv::Point2d& p : s.points) {
      if (std::isfinite(p.y)) y_high = std::max(y_high, p.y);
    }
  }
  y_high = y_high > 0 ? y_high * 1.1 : 1.0;
  if (!(x_high > x_low)) x_high = x_low + 1;
  const cv::Rect plot(area.x + 50, area.y + 24, area.width - 60, area.height - 48);
  auto to_pixel = [&](double x, double y) {
    return cv::Point(plot.x + cvRound((x - x_low) / (x_high - x_low) * plot.width),
                     plot.y + plot.height - cvRound(y / y_high * plot.height));
  };
  Text(canvas, title, {area.x, area.y + 14}, 0.5, kInk, 1);
  // Grid and axes.
  const double y_step = NiceStep(y_high, 4);
  for (double y = 0; y <= y_high + 1e-9; y += y_step) {
    const cv::Point left = to_pixel(x_low, y);
    cv::line(canvas, left, {plot.x + plot.width, left.y}, kGrid, 1);
    Text(canvas, absl::StrFormat("%g", y), {area.x, left.y + 4}, 0.4);
  }
  const double x_step = NiceStep(x_high - x_low, 8);
  for (double x = std::ceil(x_low / x_step) * x_step; x <= x_high + 1e-9; x += x_step) {
    const cv::Point bottom = to_pixel(x, 0);
    cv::line(canvas, {bottom.x, plot.y}, bottom, kGrid, 1);
    Text(canvas, absl::StrFormat("%g", x), {bottom.x - 10, plot.y + plot.height + 16}, 0.4);
  }
  cv::rectangle(canvas, plot, kInk, 1);
  Text(canvas, "frame", {plot.x + plot.width - 40, area.y + area.height - 2}, 0.4);
  if (std::isfinite(reference)) {  // dashed
    for (int x = plot.x; x < plot.x + plot.width; x += 12) {
      const int y = to_pixel(x_low, reference).y;
      cv::line(canvas, {x, y}, {std::min(x + 6, plot.x + plot.width), y}, kRed, 1);
    }
  }
  // Series, and their legend right-aligned on the title line.
  int legend_width = 0;
  for (const Series& s : series) legend_width += 40 + 9 * static_cast<int>(s.name.size());
  int legend_x = area.x + area.width - legend_width;
  for (const Series& s : series) {
    for (size_t i = 0; i < s.points.size(); ++i) {
      const cv::Point2d& p = s.points[i];
      if (!std::isfinite(p.y)) continue;
      const cv::Point here = to_pixel(p.x, p.y);
      if (i > 0 && std::isfinite(s.points[i - 1].y) && p.x - s.points[i - 1].x <= 1.0) {
        cv::line(canvas, to_pixel(s.points[i - 1].x, s.points[i - 1].y), here, s.colour, 1,
                 cv::LINE_AA);
      } else {
        cv::circle(canvas, here, 1, s.colour, cv::FILLED, cv::LINE_AA);
      }
    }
    cv::line(canvas, {legend_x, area.y + 10}, {legend_x + 20, area.y + 10}, s.colour, 2);
    Text(canvas, s.name, {legend_x + 26, area.y + 14}, 0.45);
    legend_x += 40 + 9 * static_cast<int>(s.name.size());
  }
}

// Pastes `image` at `at`, clipped to the canvas.
void Paste(cv::Mat& canvas, const cv::Mat& image, cv::Point at) {
  const cv::Rect target = cv::Rect(at, image.size()) & cv::Rect(0, 0, canvas.cols, canvas.rows);
  if (target.empty()) return;
  image(cv::Rect(target.tl() - at, target.size())).copyTo(canvas(target));
}

// Headline lines of the summary (the table without its indentation).
std::vector<std::string> Headline(const EvalReport& report) {
  std::vector<std::string> lines;
  std::string summary = FormatSummary(report);
  size_t start = 0;
  while (start < summary.size()) {
    size_t end = summary.find('\n', start);
    if (end == std::string::npos) end = summary.size();
    lines.push_back(summary.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace

cv::Mat RenderReportSheet(const EvalReport& report) {
  const std::vector<std::string> headline = Headline(report);
  const int header = kMargin + 18 * static_cast<int>(headline.size()) + 10;
  const SampleFace* middle =
      report.samples.empty() ? nullptr : &report.samples[report.samples.size() / 2];
  const int frame_height = middle ? middle->source_frame.rows + 30 : 0;
  const int close_up = report.samples.empty() ? 0 : report.samples[0].source.rows;
  const int pairs_per_row = 2;
  const int close_rows =
      (static_cast<int>(report.samples.size()) + pairs_per_row - 1) / pairs_per_row;
  const int close_height = close_rows * (close_up + 30);
  const int height = header + frame_height + close_height + 3 * (kPlotHeight + 10) + kMargin;
  cv::Mat canvas(height, kWidth, CV_8UC3, kBackground);

  int y = kMargin;
  for (const std::string& line : headline) {
    Text(canvas, line, {kMargin, y + 12}, 0.42);
    y += 18;
  }
  y += 10;
  if (middle) {
    Text(canvas, absl::StrCat("source, frame ", middle->frame), {kMargin, y + 14});
    Text(canvas, "swapped", {kMargin + middle->source_frame.cols + 20, y + 14});
    Paste(canvas, middle->source_frame, {kMargin, y + 20});
    Paste(canvas, middle->swapped_frame, {kMargin + middle->source_frame.cols + 20, y + 20});
    y += frame_height;
  }
  for (size_t i = 0; i < report.samples.size(); ++i) {
    const SampleFace& s = report.samples[i];
    const int column = static_cast<int>(i) % pairs_per_row;
    const int x = kMargin + column * (2 * close_up + 60);
    const int row_y = y + static_cast<int>(i / pairs_per_row) * (close_up + 30);
    Text(canvas, absl::StrCat("frame ", s.frame, ": source | swapped"), {x, row_y + 14});
    Paste(canvas, s.source, {x, row_y + 20});
    Paste(canvas, s.swapped, {x + close_up + 4, row_y + 20});
  }
  y += close_height;

  // Per-frame plots.
  Series to_b{"to B", kBlue, {}}, to_a{"to A", kGreen, {}}, to_source{"to source", kOrange, {}};
  Series rotation{"rotation", kBlue, {}}, yaw{"yaw", kOrange, {}}, pitch{"pitch", kGreen, {}};
  Series flicker_swapped{"swapped", kBlue, {}}, flicker_source{"source", kOrange, {}};
  double x_low = 0, x_high = std::max<int64_t>(1, report.frames_evaluated - 1);
  // One line per track: faces in track order, a NaN point between tracks breaks the line (a
  // frame with two faces would otherwise draw a zigzag between them).
  std::vector<const FaceRecord*> by_track;
  for (const FaceRecord& f : report.faces) by_track.push_back(&f);
  std::stable_sort(by_track.begin(), by_track.end(), [](const FaceRecord* a, const FaceRecord* b) {
    return std::tie(a->track, a->frame) < std::tie(b->track, b->frame);
  });
  for (size_t i = 0; i < by_track.size(); ++i) {
    const FaceRecord& f = *by_track[i];
    const double x = static_cast<double>(f.frame);
    if (i > 0 && by_track[i - 1]->track != f.track) {
      for (Series* s :
           {&to_b, &to_a, &to_source, &rotation, &yaw, &pitch, &flicker_swapped, &flicker_source}) {
        s->points.emplace_back(x, NAN);
      }
    }
    to_b.points.emplace_back(x, f.identity.to_b);
    to_a.points.emplace_back(x, f.identity.to_a);
    to_source.points.emplace_back(x, f.identity.to_source);
    rotation.points.emplace_back(x, f.pose_measured ? f.pose.rotation : NAN);
    yaw.points.emplace_back(x, f.pose_measured ? f.pose.yaw : NAN);
    pitch.points.emplace_back(x, f.pose_measured ? f.pose.pitch : NAN);
    flicker_swapped.points.emplace_back(x, f.flicker.pixels ? f.flicker.swapped_mean() : NAN);
    flicker_source.points.emplace_back(x, f.flicker.pixels ? f.flicker.source_mean() : NAN);
  }
  const int plot_width = kWidth - 2 * kMargin;
  std::vector<Series> identity;
  if (report.identity.faces > 0) identity.push_back(to_b);
  identity.push_back(to_a);
  identity.push_back(to_source);
  DrawPlot(canvas, {kMargin, y, plot_width, kPlotHeight},
           "identity distance (face-api; dashed: same person below 0.6)", identity, x_low, x_high,
           kSamePersonDistance);
  y += kPlotHeight + 10;
  DrawPlot(canvas, {kMargin, y, plot_width, kPlotHeight}, "pose error, degrees",
           {rotation, yaw, pitch}, x_low, x_high);
  y += kPlotHeight + 10;
  DrawPlot(canvas, {kMargin, y, plot_width, kPlotHeight},
           "flicker: mean |frame - previous| in the face mask, levels",
           {flicker_swapped, flicker_source}, x_low, x_high);
  return canvas;
}

absl::Status CreateReportFolder(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec)) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create report folder ", dir, ": ",
                                                    ec ? ec.message() : "a file is in the way",
                                                    "; pass --report a folder you can write"));
  }
  return absl::OkStatus();
}

absl::Status WriteReportFolder(const EvalReport& report, const std::string& dir) {
  if (absl::Status created = CreateReportFolder(dir); !created.ok()) return created;
  std::vector<uchar> png;
  if (!cv::imencode(".png", RenderReportSheet(report), png)) {
    return absl::InternalError("could not encode the report sheet as PNG");
  }
  const std::string base = (std::filesystem::path(dir) / "").string();
  absl::Status written = util::WriteFileAtomically(
      base + kReportSheetName, std::string(reinterpret_cast<const char*>(png.data()), png.size()));
  if (!written.ok()) return written;
  return util::WriteFileAtomically(base + kReportJsonName,
                                   ReportToJson(report, /*per_face=*/true, /*pretty=*/true) + "\n");
}

}  // namespace fsc::eval
