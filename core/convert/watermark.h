// fsc's invisible watermark: every frame `fsc convert` swaps carries it, `fsc verify` finds it.
//
// Scheme: keyed spread spectrum in the luma, defined relative to the frame size.
//  * A fixed key (bits of SHA-256 of a constant string) gives 96 x 96 random signs K_j, one per
//    cell; a cell is 1/96 of the frame's width and height whatever its size or aspect, so a 50 %
//    downscale maps cells onto cells.
//  * The mark is a smooth, band-limited field P = Blur(sum_j K_j * box of cell j), unit RMS,
//    built once on a fixed working grid and resized to the frame: low/mid spatial frequencies
//    only (features of one cell and more, 7+ px in a 720p frame), which are what H.264 at
//    CRF 28, JPEG and downscaling keep. Embedding adds strength * P, upsampled to the frame,
//    to B, G and R alike, so only luma changes and colours do not shift.
//  * Strength: 2.8 luma levels RMS where the content is textured, half that where it is flat
//    (a mask from the local standard deviation of the luma). The eye and the codecs forgive
//    changes in texture; at full strength everywhere the pattern showed as a faint grain in
//    large flat dark areas. PSNR 39.5-40.5 dB on the sample photos, 41-48 dB on the sample video. A
//    stronger luminance mask (less in dark areas) was measured too and rejected: it left a dark
//    video with too little signal after CRF 28 + half size.
//  * Cost: a grey conversion and a point-sampled resize of the frame, a few operations on the
//    384x384 working grid, two resizes back and two vectorised saturating passes: a few ms per
//    720p frame (bench/watermark_bench prints it next to a BGR->YCrCb conversion).
//  * Detection resamples the luma onto the working grid (area average), removes the coarse
//    content and normalises local contrast (whitening, so strong edges do not drown the mark),
//    applies the adjoint of the embedding filter and reads one value g_j per cell:
//        z = sum_j K_j g_j / sqrt(sum_j g_j^2).
//    On an unmarked image the key signs are independent of the image, so z is a Rademacher sum
//    and Hoeffding's inequality bounds P(z >= t) <= exp(-t^2 / 2) whatever the content: the
//    threshold kFoundZ = 6 gives a false-positive rate below 1.6e-8 per image with no tuning
//    on a particular data set. The same bound holds for a sum of several frames' normalised
//    responses (WatermarkResponse + ScoreResponse), which verify uses to combine a video's frames.
//    Marked frames score far higher, also after CRF 28 + half size (watermark_test and
//    verify_test print the figures).
// What it does not survive: cropping or rotation (the cells no longer line up), heavy blur.
#ifndef FSC_CORE_CONVERT_WATERMARK_H_
#define FSC_CORE_CONVERT_WATERMARK_H_

#include <opencv2/core.hpp>
#include <vector>

namespace fsc::convert {

// Frames smaller than this on either side are too small to carry the mark.
constexpr int kMinWatermarkSide = 64;
// Detector statistic at and above which a frame counts as marked (see above).
constexpr double kFoundZ = 6.0;

// Embeds fsc's fixed-key watermark into an 8-bit BGR frame (CV_8UC3) in place. Any size
// >= 64x64; smaller frames (and other types) are left as they are and return false.
bool EmbedWatermark(cv::Mat* bgr);

struct WatermarkScore {
  double confidence = 0;  // 0..1, 0.5 at the threshold, ~1 well above it
  double z = 0;           // detector statistic (about N(0,1) on unmarked images)
  bool found = false;     // z >= kFoundZ
};

// Scores an 8-bit BGR (CV_8UC3) or grey (CV_8UC1) image. Too small or empty: all zero.
WatermarkScore DetectWatermark(const cv::Mat& bgr);

// The detector's per-cell responses g_j for one image, scaled to unit length; empty when the
// image is too small, flat or of another type. Sum several frames' responses and score the sum
// with ScoreResponse for a combined statistic (it keeps the false-positive bound above).
std::vector<float> WatermarkResponse(const cv::Mat& image);
WatermarkScore ScoreResponse(const std::vector<float>& response);

// The confidence DetectWatermark reports for a statistic z (a logistic centred on kFoundZ).
double ConfidenceFromZ(double z);

}  // namespace fsc::convert

#endif  // FSC_CORE_CONVERT_WATERMARK_H_
