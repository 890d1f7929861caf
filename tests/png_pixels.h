// Test helper: the decoded pixels of a folder's PNGs, to compare the face PNGs of two runs.
#ifndef FSC_TESTS_PNG_PIXELS_H_
#define FSC_TESTS_PNG_PIXELS_H_

#include <filesystem>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>

namespace fsc::testing {

// Every .png in `dir` (not its subfolders), decoded as 8-bit BGR, by file name.
inline std::map<std::string, cv::Mat> PngPixels(const std::string& dir) {
  std::map<std::string, cv::Mat> pngs;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".png") continue;
    pngs[entry.path().filename().string()] = cv::imread(entry.path().string(), cv::IMREAD_COLOR);
  }
  return pngs;
}

}  // namespace fsc::testing

#endif  // FSC_TESTS_PNG_PIXELS_H_
