// Track linking (greedy, box overlap plus identity) and gap filling.
#include "core/face/face_tracks.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "core/face/alignment.h"

namespace fsc::face {
namespace {

// Descriptor distances of face-api's recognition net: below ~0.6 the same person.
constexpr double kSamePersonDistance = 0.6;
// Weight of the identity term against box overlap (0..1): a confident identity outweighs the
// overlap of two crossing faces.
constexpr double kIdentityWeight = 2.0;
// Surely another person: never linked, however well the boxes overlap.
constexpr double kOtherPersonDistance = 1.0;
// Boxes this far apart (centre distance over the box size) are never the same track.
constexpr double kMaxCentreDistance = 1.0;

struct Box {
  double x = 0, y = 0, w = 0, h = 0;
};

Box FromProto(const proto::Box& b) { return {b.x(), b.y(), b.width(), b.height()}; }

double Iou(const Box& a, const Box& b) {
  const double ix = std::max(0.0, std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x));
  const double iy = std::max(0.0, std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y));
  const double inter = ix * iy;
  const double uni = a.w * a.h + b.w * b.h - inter;
  return uni > 0 ? inter / uni : 0;
}

// Centre distance over the mean box side.
double CentreDistance(const Box& a, const Box& b) {
  const double dx = (a.x + a.w / 2) - (b.x + b.w / 2);
  const double dy = (a.y + a.h / 2) - (b.y + b.h / 2);
  const double side = std::max(1e-6, (a.w + a.h + b.w + b.h) / 4);
  return std::hypot(dx, dy) / side;
}

// A track while it can still be extended.
struct ActiveTrack {
  int id = 0;
  int64_t last_index = 0;
  Box last;
  Box velocity;  // per frame index, from the last two detections
  std::vector<float> identity;
};

Box Predict(const ActiveTrack& track, int64_t index) {
  const double dt = static_cast<double>(index - track.last_index);
  const Box& b = track.last;
  const Box& v = track.velocity;
  return {b.x + v.x * dt, b.y + v.y * dt, b.w + v.w * dt, b.h + v.h * dt};
}

// How well `face` continues `track`; -inf where it may not.
double LinkScore(const ActiveTrack& track, const proto::Face& face, int64_t index) {
  const Box predicted = Predict(track, index);
  const Box box = FromProto(face.box());
  const double centre = CentreDistance(predicted, box);
  if (centre > kMaxCentreDistance) return -std::numeric_limits<double>::infinity();
  double score = Iou(predicted, box) - 0.1 * centre;
  if (!track.identity.empty() &&
      track.identity.size() == static_cast<size_t>(face.identity_size())) {
    double sq = 0;
    for (int i = 0; i < face.identity_size(); ++i) {
      const double d = face.identity(i) - track.identity[i];
      sq += d * d;
    }
    const double distance = std::sqrt(sq);
    if (distance > kOtherPersonDistance) return -std::numeric_limits<double>::infinity();
    score += kIdentityWeight * (kSamePersonDistance - distance) / kSamePersonDistance;
  }
  return score;
}

void Extend(ActiveTrack* track, const proto::Face& face, int64_t index) {
  const Box box = FromProto(face.box());
  if (track->id != 0 && index > track->last_index) {
    const double dt = static_cast<double>(index - track->last_index);
    track->velocity = {(box.x - track->last.x) / dt, (box.y - track->last.y) / dt,
                       (box.w - track->last.w) / dt, (box.h - track->last.h) / dt};
  }
  track->last = box;
  track->last_index = index;
  if (face.identity_size() > 0)
    track->identity.assign(face.identity().begin(), face.identity().end());
}

// Greedy assignment, best score first: a frame holds a handful of faces.
void LinkFrame(proto::Frame* frame, std::vector<ActiveTrack>* active, int* next_id) {
  struct Pair {
    double score;
    size_t track;
    int face;
  };
  std::vector<Pair> pairs;
  for (size_t t = 0; t < active->size(); ++t) {
    for (int f = 0; f < frame->faces_size(); ++f) {
      const double score = LinkScore((*active)[t], frame->faces(f), frame->index());
      if (std::isfinite(score)) pairs.push_back({score, t, f});
    }
  }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const Pair& a, const Pair& b) { return a.score > b.score; });
  std::vector<bool> track_used(active->size(), false);
  std::vector<bool> face_used(frame->faces_size(), false);
  for (const Pair& p : pairs) {
    if (track_used[p.track] || face_used[p.face]) continue;
    track_used[p.track] = face_used[p.face] = true;
    frame->mutable_faces(p.face)->set_track_id((*active)[p.track].id);
    Extend(&(*active)[p.track], frame->faces(p.face), frame->index());
  }
  for (int f = 0; f < frame->faces_size(); ++f) {
    if (face_used[f]) continue;
    ActiveTrack track;
    Extend(&track, frame->faces(f), frame->index());
    track.id = (*next_id)++;
    frame->mutable_faces(f)->set_track_id(track.id);
    active->push_back(std::move(track));
  }
}

// Processed frames missed between two frame indices.
int64_t Missed(int64_t from, int64_t to, int64_t step) {
  return std::llround(static_cast<double>(to - from) / step) - 1;
}

float Lerp(float a, float b, double t) { return static_cast<float>(a + (b - a) * t); }

proto::Face Interpolate(const proto::Face& a, const proto::Face& b, double t) {
  proto::Face face;
  const proto::Box& ba = a.box();
  const proto::Box& bb = b.box();
  face.mutable_box()->set_x(Lerp(ba.x(), bb.x(), t));
  face.mutable_box()->set_y(Lerp(ba.y(), bb.y(), t));
  face.mutable_box()->set_width(Lerp(ba.width(), bb.width(), t));
  face.mutable_box()->set_height(Lerp(ba.height(), bb.height(), t));
  const Landmarks from = LandmarksFromPoints(a.landmarks());
  const Landmarks to = LandmarksFromPoints(b.landmarks());
  Landmarks between;
  for (size_t i = 0; i < from.size(); ++i) {
    between.emplace_back(Lerp(from[i].x, to[i].x, t), Lerp(from[i].y, to[i].y, t));
  }
  SetLandmarkPoints(between, face.mutable_landmarks());
  face.set_aligned_size(a.aligned_size());
  for (const proto::Mask& mask : a.masks()) {
    proto::Mask* copy = face.add_masks();
    copy->set_kind(mask.kind());
    copy->set_size(mask.size());
  }
  face.set_track_id(a.track_id());
  face.set_filled(true);
  face.set_score(0);
  return face;
}

}  // namespace

int64_t FrameStep(const proto::Alignments& alignments) {
  std::map<int64_t, int> counts;
  for (int i = 1; i < alignments.frames_size(); ++i) {
    const int64_t d = alignments.frames(i).index() - alignments.frames(i - 1).index();
    if (d > 0) ++counts[d];
  }
  int64_t step = 1;
  int best = 0;
  for (const auto& [d, n] : counts) {
    if (n > best) step = d, best = n;
  }
  return step;
}

int AssignTracks(int max_gap, proto::Alignments* alignments) {
  const int64_t step = FrameStep(*alignments);
  std::vector<ActiveTrack> active;
  int next_id = 1;
  for (proto::Frame& frame : *alignments->mutable_frames()) {
    if (frame.shot_cut()) active.clear();
    const int64_t index = frame.index();
    active.erase(std::remove_if(active.begin(), active.end(),
                                [&](const ActiveTrack& t) {
                                  return Missed(t.last_index, index, step) > max_gap;
                                }),
                 active.end());
    LinkFrame(&frame, &active, &next_id);
  }
  return next_id - 1;
}

int64_t FillTrackGaps(int max_gap, proto::Alignments* alignments) {
  const int64_t step = FrameStep(*alignments);
  struct Last {
    int64_t index;
    const proto::Face* face;
  };
  std::map<int, Last> last;                           // by track id
  std::map<int64_t, std::vector<proto::Face>> added;  // by frame index
  int64_t filled = 0;
  for (const proto::Frame& frame : alignments->frames()) {
    for (const proto::Face& face : frame.faces()) {
      if (face.track_id() == 0) continue;
      auto it = last.find(face.track_id());
      if (it != last.end() && face.landmarks_size() > 0 &&
          face.landmarks_size() == it->second.face->landmarks_size()) {
        const int64_t from = it->second.index;
        const int64_t missed = Missed(from, frame.index(), step);
        for (int64_t k = 1; missed <= max_gap && k <= missed; ++k) {
          const int64_t index = from + (frame.index() - from) * k / (missed + 1);
          const double t = static_cast<double>(index - from) / (frame.index() - from);
          added[index].push_back(Interpolate(*it->second.face, face, t));
          ++filled;
        }
      }
      last[face.track_id()] = {frame.index(), &face};
    }
  }
  if (added.empty()) return 0;
  // Merge the filled faces into existing frames, or new frames in index order.
  google::protobuf::RepeatedPtrField<proto::Frame> merged;
  auto next = added.begin();
  auto flush_before = [&](int64_t index) {
    for (; next != added.end() && next->first < index; ++next) {
      proto::Frame* frame = merged.Add();
      frame->set_index(next->first);
      for (proto::Face& face : next->second) *frame->add_faces() = std::move(face);
    }
  };
  for (proto::Frame& frame : *alignments->mutable_frames()) {
    flush_before(frame.index());
    if (next != added.end() && next->first == frame.index()) {
      for (proto::Face& face : next->second) *frame.add_faces() = std::move(face);
      ++next;
    }
    *merged.Add() = std::move(frame);
  }
  flush_before(std::numeric_limits<int64_t>::max());
  alignments->mutable_frames()->Swap(&merged);
  return filled;
}

}  // namespace fsc::face
