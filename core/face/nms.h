// Greedy non-maximum suppression as face-api runs it after its detectors: candidates above a
// score threshold, highest score first, each kept unless it overlaps an already kept box by more
// than an IoU threshold.
#ifndef FSC_CORE_FACE_NMS_H_
#define FSC_CORE_FACE_NMS_H_

#include <opencv2/core.hpp>
#include <vector>

namespace fsc::face {

// Intersection over union; 0 when either box has no area (face-api's SSD IOU does the same).
float IoU(const cv::Rect2f& a, const cv::Rect2f& b);

// Indices of the kept boxes, by descending score (ties: lower index first). Only boxes with
// score > score_threshold are candidates; a box is dropped when its IoU with a kept box is
// > iou_threshold; at most max_outputs are returned (<= 0: no limit). `boxes` and `scores` have
// the same length.
std::vector<int> NonMaxSuppression(const std::vector<cv::Rect2f>& boxes,
                                   const std::vector<float>& scores, float iou_threshold,
                                   float score_threshold, int max_outputs);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_NMS_H_
