// The summary table and JSON of an evaluation.
#include "core/eval/report_format.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fsc::eval {
namespace {

using nlohmann::json;

json Num(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

json SummaryJson(const Summary& s) {
  if (s.count == 0) return {{"count", 0}};
  return {{"count", s.count}, {"mean", s.mean}, {"median", s.median},
          {"p90", s.p90},     {"min", s.min},   {"max", s.max}};
}

json HistogramJson(const Histogram& h) {
  json edges = json::array();
  for (size_t i = 0; i <= h.counts.size(); ++i) {
    edges.push_back(h.low + (h.high - h.low) * i / std::max<size_t>(1, h.counts.size()));
  }
  return {{"edges", edges}, {"counts", h.counts}};
}

json JitterJson(const JitterFigures& j) {
  return {{"jitter", j.triples > 0 ? Num(j.jitter) : json(nullptr)}, {"triples", j.triples}};
}

json PoseJson(const face::HeadPose& p) {
  return {{"yaw", p.yaw}, {"pitch", p.pitch}, {"roll", p.roll}, {"fit_px", p.reprojection_px}};
}

json FaceJson(const FaceRecord& f) {
  json face = {
      {"frame", f.frame},
      {"face", f.face},
      {"track", f.track},
      {"identity",
       {{"to_b", Num(f.identity.to_b)},
        {"to_a", Num(f.identity.to_a)},
        {"to_source", Num(f.identity.to_source)},
        {"source_to_b", Num(f.identity.source_to_b)},
        {"retrieved", f.identity.retrieved}}},
      {"nme", Num(f.nme)},
      {"alignments_jitter", Num(f.alignments_jitter)},
      {"seam",
       {{"color_step_swapped", f.seam.points ? Num(f.seam.color_step_swapped_mean()) : nullptr},
        {"color_step_source", f.seam.points ? Num(f.seam.color_step_source_mean()) : nullptr},
        {"gradient_swapped", f.seam.band_pixels ? Num(f.seam.gradient_swapped_mean()) : nullptr},
        {"gradient_source", f.seam.band_pixels ? Num(f.seam.gradient_source_mean()) : nullptr}}},
      {"flicker",
       {{"swapped", f.flicker.pixels ? Num(f.flicker.swapped_mean()) : nullptr},
        {"source", f.flicker.pixels ? Num(f.flicker.source_mean()) : nullptr}}},
  };
  if (f.pose_measured) {
    face["pose"] = {{"source", PoseJson(f.source_pose)},
                    {"swapped", PoseJson(f.swapped_pose)},
                    {"error",
                     {{"yaw", f.pose.yaw},
                      {"pitch", f.pose.pitch},
                      {"roll", f.pose.roll},
                      {"rotation", f.pose.rotation}}}};
  } else {
    face["pose"] = nullptr;
  }
  return face;
}

std::string Percent(double fraction) {
  return std::isfinite(fraction) ? absl::StrFormat("%.2f %%", 100 * fraction) : "n/a";
}

std::string Fixed(double value, int decimals) {
  return std::isfinite(value) ? absl::StrFormat("%.*f", decimals, value) : "n/a";
}

std::string Ratio(double value) {
  return std::isfinite(value) ? absl::StrFormat("x%.2f", value) : "n/a";
}

}  // namespace

std::string ReportToJson(const EvalReport& r, bool per_face, bool pretty) {
  json out = {
      {"swapped", r.swapped},
      {"source", r.source},
      {"alignments", r.alignments},
      {"identity_dir", r.identity_dir},
      {"video", r.video},
      {"width", r.width},
      {"height", r.height},
      {"fps", r.fps},
      {"source_frames", r.source_frames},
      {"frames_evaluated", r.frames_evaluated},
      {"faces_listed", r.faces_listed},
      {"faces_measured", r.faces_measured},
      {"seconds", r.seconds},
      {"identity",
       {{"reference",
         {{"dir", r.identity.dir},
          {"faces", r.identity.faces},
          {"faces_in_folder", r.identity.faces_in_folder},
          {"spread", r.identity.faces > 0 ? Num(r.identity.spread) : nullptr}}},
        {"same_person_distance", kSamePersonDistance},
        {"a_spread", r.faces.empty() ? json(nullptr) : Num(r.a_spread)},
        {"to_b", SummaryJson(r.to_b)},
        {"to_a", SummaryJson(r.to_a)},
        {"to_source", SummaryJson(r.to_source)},
        {"source_to_b", SummaryJson(r.source_to_b)},
        {"retrieval", Num(r.retrieval)},
        {"histogram_to_b", HistogramJson(r.to_b_histogram)},
        {"histogram_to_source", HistogramJson(r.to_source_histogram)}}},
      {"pose",
       {{"yaw", SummaryJson(r.pose_yaw)},
        {"pitch", SummaryJson(r.pose_pitch)},
        {"roll", SummaryJson(r.pose_roll)},
        {"rotation", SummaryJson(r.pose_rotation)}}},
      {"expression", {{"nme", SummaryJson(r.nme)}}},
      {"temporal",
       {{"measured", r.video},
        {"alignments_jitter", JitterJson(r.alignments_jitter)},
        {"source_landmark_jitter", JitterJson(r.source_jitter)},
        {"swapped_landmark_jitter", JitterJson(r.swapped_jitter)},
        {"flicker",
         {{"swapped", r.flicker.pixels ? Num(r.flicker.swapped_mean()) : nullptr},
          {"source", r.flicker.pixels ? Num(r.flicker.source_mean()) : nullptr},
          {"ratio", Num(r.flicker_ratio)},
          {"pixels", r.flicker.pixels}}}}},
      {"seam",
       {{"band_aligned_px", kSeamBandAligned},
        {"points", r.seam.points},
        {"band_pixels", r.seam.band_pixels},
        {"color_step",
         {{"swapped", r.seam.points ? Num(r.seam.color_step_swapped_mean()) : nullptr},
          {"source", r.seam.points ? Num(r.seam.color_step_source_mean()) : nullptr},
          {"excess", Num(r.seam_color_excess)}}},
        {"gradient",
         {{"swapped", r.seam.band_pixels ? Num(r.seam.gradient_swapped_mean()) : nullptr},
          {"source", r.seam.band_pixels ? Num(r.seam.gradient_source_mean()) : nullptr},
          {"ratio", Num(r.seam_gradient_ratio)}}}}},
      {"label",
       {{"checked", r.label_checked},
        {"synthetic", r.labelled_synthetic},
        {"watermark_found", r.label.watermark_found},
        {"watermark_z", r.label.best_z},
        {"metadata_found", r.label.metadata_found},
        {"error", r.label_error}}},
      {"warnings", r.warnings},
  };
  if (per_face) {
    json faces = json::array();
    for (const FaceRecord& f : r.faces) faces.push_back(FaceJson(f));
    out["faces"] = std::move(faces);
  }
  return out.dump(pretty ? 2 : -1);
}

std::string FormatSummary(const EvalReport& r) {
  std::string s;
  auto line = [&](const std::string& group, const std::string& name, const std::string& value) {
    absl::StrAppendFormat(&s, "  %-11s %-22s %s\n", group, name, value);
  };
  absl::StrAppendFormat(&s, "fsc eval: %s\n  against %s (%d of %d frames, %d faces, %.1f s)\n",
                        r.swapped, r.source, r.frames_evaluated, r.source_frames, r.faces_measured,
                        r.seconds);
  if (r.identity.faces > 0) {
    line("identity", "distance to B",
         absl::StrFormat("%s mean (B's own faces: %s; the source face was %s; same person "
                         "below %.1f)",
                         Fixed(r.to_b.mean, 3), Fixed(r.identity.spread, 3),
                         Fixed(r.source_to_b.mean, 3), kSamePersonDistance));
  } else {
    line("identity", "distance to B", "not measured (no --identity)");
  }
  line("", "distance to A",
       absl::StrFormat("%s mean (A's own faces: %s)", Fixed(r.to_a.mean, 3), Fixed(r.a_spread, 3)));
  line("", "distance to source", Fixed(r.to_source.mean, 3) + " mean (0: the face is unchanged)");
  if (r.identity.faces > 0) {
    line("", "ID retrieval", Percent(r.retrieval) + " of faces closer to B than to A");
  }
  line("pose", "error",
       absl::StrFormat("%s deg mean rotation (yaw %s, pitch %s, roll %s; p90 %s)",
                       Fixed(r.pose_rotation.mean, 2), Fixed(r.pose_yaw.mean, 2),
                       Fixed(r.pose_pitch.mean, 2), Fixed(r.pose_roll.mean, 2),
                       Fixed(r.pose_rotation.p90, 2)));
  line("expression", "NME",
       Percent(r.nme.mean) + " of the inter-ocular distance (p90 " + Percent(r.nme.p90) + ")");
  if (r.video) {
    line("temporal", "alignments jitter",
         Percent(r.alignments_jitter.jitter) + " of the inter-ocular distance");
    line("", "landmark jitter",
         absl::StrCat("swapped ", Percent(r.swapped_jitter.jitter), " vs source ",
                      Percent(r.source_jitter.jitter)));
    line("", "flicker",
         absl::StrCat("swapped ", Fixed(r.flicker.swapped_mean(), 2), " vs source ",
                      Fixed(r.flicker.source_mean(), 2), " levels/frame (", Ratio(r.flicker_ratio),
                      ")"));
  } else {
    line("temporal", "", "not measured (images are not a sequence)");
  }
  line("seam", "colour step",
       absl::StrCat("swapped ", Fixed(r.seam.color_step_swapped_mean(), 2), " vs source ",
                    Fixed(r.seam.color_step_source_mean(), 2), " dE (",
                    std::isfinite(r.seam_color_excess)
                        ? absl::StrFormat("%+.2f", r.seam_color_excess)
                        : std::string("n/a"),
                    ")"));
  line("", "gradient",
       absl::StrCat("swapped ", Fixed(r.seam.gradient_swapped_mean(), 2), " vs source ",
                    Fixed(r.seam.gradient_source_mean(), 2), " L/px (",
                    Ratio(r.seam_gradient_ratio), ")"));
  if (r.label_checked) {
    line("label", "synthetic",
         r.labelled_synthetic
             ? absl::StrFormat("yes (watermark %s, z %.1f; metadata %s)",
                               r.label.watermark_found ? "found" : "not found", r.label.best_z,
                               r.label.metadata_found ? "found" : "not found")
             : std::string("NO: no fsc synthetic label found"));
  } else {
    line("label", "synthetic",
         r.label_error.empty() ? "not checked" : "not checked: " + r.label_error);
  }
  if (!r.warnings.empty()) {
    absl::StrAppendFormat(&s, "  %d warnings (first: %s)\n", r.warnings.size(), r.warnings[0]);
  }
  return s;
}

}  // namespace fsc::eval
