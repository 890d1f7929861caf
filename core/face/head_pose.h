// Head pose from 68 landmarks: a generic 3D head (Faceswap's 26-point mean face) fitted to the
// landmarks with solvePnP. The same 3D head serves the aligner (alignment.cc centres its crops on
// the pose, in Faceswap's unit "legacy" frame) and `fsc eval` (yaw, pitch and roll in the frame).
#ifndef FSC_CORE_FACE_HEAD_POSE_H_
#define FSC_CORE_FACE_HEAD_POSE_H_

#include <array>
#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "core/face/landmark_net.h"

namespace fsc::face {

// The 68-point indices that correspond, in order, to the rows of kHeadModel3d.
inline constexpr std::array<int, 26> kHeadModelLandmarks = {6,  7,  8,  9,  10, 17, 21, 22, 26,
                                                            31, 32, 33, 34, 35, 36, 39, 42, 45,
                                                            48, 50, 51, 52, 54, 56, 57, 58};
// A generic 3D head: Faceswap's _MEAN_FACE[LandmarkType.LM_3D_26] (lib/align/constants.py), from
// http://aifi.isr.uc.pt/Downloads/OpenGL/glAnthropometric3DModel.cpp. Centimetres; x towards the
// subject's right, y up, z out of the face (so it is left-handed seen through a camera: Faceswap's
// solver puts it behind its camera, which mirrors it back).
inline constexpr double kHeadModel3d[26][3] = {
    {4.056931, -11.432347, 1.636229},  {1.833492, -12.542305, 4.061275},
    {0.0, -12.901019, 4.070434},       {-1.833492, -12.542305, 4.061275},
    {-4.056931, -11.432347, 1.636229}, {6.825897, 1.275284, 4.402142},
    {1.330353, 1.636816, 6.903745},    {-1.330353, 1.636816, 6.903745},
    {-6.825897, 1.275284, 4.402142},   {1.930245, -5.060977, 5.914376},
    {0.746313, -5.136947, 6.263227},   {0.0, -5.485328, 6.76343},
    {-0.746313, -5.136947, 6.263227},  {-1.930245, -5.060977, 5.914376},
    {5.311432, 0.0, 3.987654},         {1.78993, -0.091703, 4.413414},
    {-1.78993, -0.091703, 4.413414},   {-5.311432, 0.0, 3.987654},
    {2.774015, -7.566103, 5.048531},   {0.509714, -7.056507, 6.566167},
    {0.0, -7.131772, 6.704956},        {-0.509714, -7.056507, 6.566167},
    {-2.774015, -7.566103, 5.048531},  {-0.589441, -8.443925, 6.109526},
    {0.0, -8.601736, 6.097667},        {0.589441, -8.443925, 6.109526}};

// The pinhole camera `fsc eval` assumes for a frame of `frame_size`: focal length the frame's
// longer side (a 53 degree field of view, a common webcam/phone lens), principal point at the
// centre. Only differences between two poses in the same frame are compared, which depend little
// on the exact focal length.
cv::Matx33d FrameCamera(cv::Size frame_size);

struct HeadPose {
  // Head rotation in camera axes (x right, y down, z into the scene) away from a frontal,
  // upright head: 3D points of the head = rotation * (frontal head).
  cv::Matx33d rotation = cv::Matx33d::eye();
  cv::Vec3d translation;  // of the 3D head's origin, centimetres, camera frame
  // rotation = Rz(roll) * Ry(yaw) * Rx(pitch), degrees. yaw > 0: the face turns towards the
  // image's left; pitch > 0: the chin goes down; roll > 0: clockwise in the image.
  double yaw = 0, pitch = 0, roll = 0;
  double reprojection_px = 0;  // RMS distance of the fitted 3D head's 26 points to the landmarks
};

// Fits the 3D head to the 26 matching points of `landmarks` (frame pixels) seen through
// `camera`. INVALID_ARGUMENT for a landmark count other than 68, non-finite or degenerate
// landmarks, or a fit that does not converge.
absl::StatusOr<HeadPose> EstimateHeadPose(const Landmarks& landmarks, const cv::Matx33d& camera);

// The 26 points of the 3D head posed by `rotation`/`translation` and projected through `camera`
// (the inverse of EstimateHeadPose; for tests and drawing).
std::vector<cv::Point2f> ProjectHeadModel(const cv::Matx33d& rotation, const cv::Vec3d& translation,
                                          const cv::Matx33d& camera);

// Rz(roll) * Ry(yaw) * Rx(pitch) from degrees.
cv::Matx33d RotationFromAngles(double yaw, double pitch, double roll);

// The angle in degrees of the rotation that takes `a` to `b` (0 when equal, at most 180).
double RotationAngleBetween(const cv::Matx33d& a, const cv::Matx33d& b);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_HEAD_POSE_H_
