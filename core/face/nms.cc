// Greedy non-maximum suppression shared by the SSD and Tiny face detectors.
#include "core/face/nms.h"

#include <algorithm>

namespace fsc::face {

float IoU(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float area_a = a.width * a.height;
  const float area_b = b.width * b.height;
  if (a.width <= 0 || a.height <= 0 || b.width <= 0 || b.height <= 0) return 0.0f;
  const float iw = std::min(a.x + a.width, b.x + b.width) - std::max(a.x, b.x);
  const float ih = std::min(a.y + a.height, b.y + b.height) - std::max(a.y, b.y);
  if (iw <= 0 || ih <= 0) return 0.0f;
  const float inter = iw * ih;
  return inter / (area_a + area_b - inter);
}

std::vector<int> NonMaxSuppression(const std::vector<cv::Rect2f>& boxes,
                                   const std::vector<float>& scores, float iou_threshold,
                                   float score_threshold, int max_outputs) {
  std::vector<int> candidates;
  const int n = static_cast<int>(std::min(boxes.size(), scores.size()));
  for (int i = 0; i < n; ++i) {
    if (scores[i] > score_threshold) candidates.push_back(i);
  }
  // Stable, like JS Array.prototype.sort: equal scores keep index order.
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](int a, int b) { return scores[a] > scores[b]; });
  std::vector<int> kept;
  for (int c : candidates) {
    if (max_outputs > 0 && static_cast<int>(kept.size()) >= max_outputs) break;
    bool suppressed = false;
    for (int k : kept) {
      if (IoU(boxes[c], boxes[k]) > iou_threshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push_back(c);
  }
  return kept;
}

}  // namespace fsc::face
