// Landmark jitter: tracks of faces over consecutive frames and their second-difference energy.
#include "core/eval/jitter.h"

#include <cmath>
#include <functional>
#include <map>

#include "core/eval/landmark_errors.h"

namespace fsc::eval {
namespace {

double Iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const double overlap = (a & b).area();
  const double united = a.area() + b.area() - overlap;
  return united > 0 ? overlap / united : 0;
}

}  // namespace

std::vector<std::vector<int>> LinkTracks(const std::vector<FrameFace>& faces) {
  std::vector<std::vector<int>> tracks;
  // Tracks whose last face is in the previous frame, and that frame.
  std::vector<int> open;
  int64_t open_frame = -2;
  size_t i = 0;
  while (i < faces.size()) {
    const int64_t frame = faces[i].frame;
    size_t end = i;
    while (end < faces.size() && faces[end].frame == frame) ++end;
    if (open_frame != frame - 1) open.clear();
    // Greedy by overlap: the best-overlapping (face, track) pair first.
    std::multimap<double, std::pair<size_t, int>, std::greater<double>> pairs;
    for (size_t f = i; f < end; ++f) {
      for (int t : open) {
        const double iou = Iou(faces[f].box, faces[tracks[t].back()].box);
        if (iou >= kTrackMinIou) pairs.emplace(iou, std::make_pair(f, t));
      }
    }
    std::vector<int> next_open;
    std::vector<bool> face_taken(end - i, false);
    std::vector<bool> track_taken(tracks.size(), false);
    for (const auto& [iou, pair] : pairs) {
      const auto [f, t] = pair;
      if (face_taken[f - i] || track_taken[t]) continue;
      face_taken[f - i] = track_taken[t] = true;
      tracks[t].push_back(static_cast<int>(f));
      next_open.push_back(t);
    }
    for (size_t f = i; f < end; ++f) {
      if (face_taken[f - i]) continue;
      tracks.push_back({static_cast<int>(f)});
      next_open.push_back(static_cast<int>(tracks.size()) - 1);
    }
    open = std::move(next_open);
    open_frame = frame;
    i = end;
  }
  return tracks;
}

double SecondDifferenceEnergy(const face::Landmarks& previous, const face::Landmarks& current,
                              const face::Landmarks& next) {
  const double iod = InterOcular(current);
  if (!(iod > 0) || previous.size() != current.size() || next.size() != current.size()) return 0;
  double sum = 0;
  for (size_t k = 0; k < current.size(); ++k) {
    const cv::Point2d a =
        cv::Point2d(next[k]) - 2.0 * cv::Point2d(current[k]) + cv::Point2d(previous[k]);
    sum += a.dot(a);
  }
  return sum / current.size() / (iod * iod);
}

JitterFigures MeasureJitter(const std::vector<std::vector<face::Landmarks>>& tracks) {
  JitterFigures figures;
  double energy = 0;
  for (const auto& track : tracks) {
    for (size_t t = 1; t + 1 < track.size(); ++t) {
      energy += SecondDifferenceEnergy(track[t - 1], track[t], track[t + 1]);
      ++figures.triples;
    }
  }
  if (figures.triples > 0) figures.jitter = std::sqrt(energy / figures.triples);
  return figures;
}

}  // namespace fsc::eval
