// `fsc extract` with its defaults on the face-api sample photos and skimage's astronaut, checked
// against face-api itself (tests/fixtures/faceapi/images.json): every face face-api finds is
// found, and the 68 landmarks agree to a normalized mean error under 2 %.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/face/alignments_file.h"
#include "tests/test_paths.h"

namespace fsc {
namespace {

namespace fs = std::filesystem;

double Iou(const proto::Box& a, const nlohmann::json& b) {
  double bx = b[0], by = b[1], bw = b[2], bh = b[3];
  double x0 = std::max<double>(a.x(), bx), y0 = std::max<double>(a.y(), by);
  double x1 = std::min<double>(a.x() + a.width(), bx + bw);
  double y1 = std::min<double>(a.y() + a.height(), by + bh);
  double inter = std::max(0.0, x1 - x0) * std::max(0.0, y1 - y0);
  return inter / (a.width() * a.height() + bw * bh - inter);
}

// Mean landmark distance over the outer-eye-corner distance (points 36 and 45), as in 300-W.
double NormalizedMeanError(const proto::Face& face, const nlohmann::json& reference) {
  double ex = reference[36][0].get<double>() - reference[45][0].get<double>();
  double ey = reference[36][1].get<double>() - reference[45][1].get<double>();
  double sum = 0;
  for (int i = 0; i < 68; ++i) {
    sum += std::hypot(face.landmarks(i).x() - reference[i][0].get<double>(),
                      face.landmarks(i).y() - reference[i][1].get<double>());
  }
  return sum / 68 / std::hypot(ex, ey);
}

TEST(ExtractAccuracyTest, FindsEveryFaceApiFaceWithMatchingLandmarks) {
  std::ifstream in(testing::SourceDir() + "/tests/fixtures/faceapi/images.json");
  ASSERT_TRUE(in) << "fixture missing";
  nlohmann::json fixture = nlohmann::json::parse(in);

  std::string dir = testing::MakeTempDir("fsc-accuracy");
  fs::create_directory(dir + "/in");
  for (const auto& image : fixture["images"]) {
    std::string name = fs::path(image["file"].get<std::string>()).filename();
    fs::copy_file(testing::DataDir() + "/" + name, dir + "/in/" + name);
  }
  std::string command = testing::BinDir() + "/fsc extract " + dir + "/in -o " + dir +
                        "/out --no-faces --threads 2 > " + dir + "/log 2>&1";
  int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command;
  auto alignments = face::ReadAlignments(dir + "/out/alignments.fsa");
  ASSERT_TRUE(alignments.ok()) << alignments.status();

  int expected = 0, found = 0;
  double worst = 0, total = 0;
  for (const auto& image : fixture["images"]) {
    std::string name = fs::path(image["file"].get<std::string>()).filename();
    const proto::Frame* frame = nullptr;
    for (const auto& f : alignments->frames()) {
      if (f.name() == name) frame = &f;
    }
    for (const auto& reference : image["ssd_faces"]) {
      ++expected;
      const proto::Face* best = nullptr;
      double best_iou = 0;
      for (int i = 0; frame != nullptr && i < frame->faces_size(); ++i) {
        double iou = Iou(frame->faces(i).box(), reference["box"]);
        if (iou > best_iou) {
          best_iou = iou;
          best = &frame->faces(i);
        }
      }
      EXPECT_GT(best_iou, 0.5) << name << ": face-api's face at " << reference["box"].dump()
                               << " not found by fsc extract";
      if (best == nullptr || best_iou <= 0.5) continue;
      ++found;
      double nme = NormalizedMeanError(*best, reference["landmarks"]);
      std::cout << name << " face at " << reference["box"].dump() << ": box IoU " << best_iou
                << ", NME " << 100 * nme << " %\n";
      // Per face, a looser bound: the JPEGs decode slightly differently in face-api (jpeg-js)
      // and here (libjpeg), which moves the detector box by about 1 % and the landmark net's
      // crop with it. Given face-api's own boxes the landmarks agree within 0.6 % on every face
      // (landmark_net_test); the set as a whole must stay under 2 %.
      EXPECT_LT(nme, 0.05) << name << " face at " << reference["box"].dump();
      worst = std::max(worst, nme);
      total += nme;
    }
  }
  std::cout << "faces found " << found << "/" << expected << ", landmark NME mean "
            << 100 * total / std::max(found, 1) << " %, worst " << 100 * worst << " %\n";
  EXPECT_EQ(found, expected);
  EXPECT_LT(total / std::max(found, 1), 0.02);
  EXPECT_EQ(expected, 23);
}

}  // namespace
}  // namespace fsc
