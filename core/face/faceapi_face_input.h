// How face-api turns a face box of an image into the input of its face networks (the 68-point
// landmark net and the recognition net), reproduced step by step so that fsc's LibTorch nets see
// the very same pixels face-api's nets see:
//   1. Box.clipAtImageBorders: clip the box to the image, then floor x, y, width and height;
//   2. tf.slice of that integer crop;
//   3. padToSquare(centred): zeros appended after the short side (Math.round(diff / 2)) and the
//      rest prepended, so an odd difference puts the extra pixel after the image;
//   4. tf.image.resizeBilinear(size, alignCorners=false, halfPixelCenters=false) — the legacy TF
//      sampling (source = dst * in / out, no half-pixel offset), skipped when already `size`;
//   5. (RGB - [122.782, 117.001, 104.298]) / 255 in float32.
// Private to the face networks (landmark_net.cc, recognition_net.cc); no LibTorch here.
#ifndef FSC_CORE_FACE_FACEAPI_FACE_INPUT_H_
#define FSC_CORE_FACE_FACEAPI_FACE_INPUT_H_

#include <opencv2/core.hpp>
#include <string>

#include "absl/status/statusor.h"

namespace fsc::face {

// `image` (8-bit grey, BGR or BGRA) as the BGR image the networks' input is cut from (the image
// itself when it is BGR already); INVALID_ARGUMENT "<net>: expected a non-empty 8-bit BGR image,
// got ..." for anything else.
absl::StatusOr<cv::Mat> FaceApiBgr(const cv::Mat& image, const std::string& net);

// An integer crop of an image; width or height may be <= 0 when the box lies outside the image.
struct FaceApiCrop {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  bool empty() const { return width <= 0 || height <= 0; }
};

// face-api's Box.clipAtImageBorders(image_width, image_height) of the box (x, y, width, height);
// an empty crop when less than a whole pixel of the box is inside the image (or it is NaN).
FaceApiCrop ClipAtImageBorders(double x, double y, double width, double height, int image_width,
                               int image_height);

// Writes the network input of `crop` of `bgr` (8-bit, 3 channels, OpenCV's BGR order) as
// interleaved RGB float32, size x size x 3 values starting at `out`: one batch entry of an NHWC
// tensor, which is what a channels-last NCHW LibTorch tensor holds. `crop` must be non-empty and
// inside the image.
void WriteFaceApiInput(const cv::Mat& bgr, const FaceApiCrop& crop, int size, float* out);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_FACEAPI_FACE_INPUT_H_
