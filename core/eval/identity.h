// Identity transfer: does the swapped face look like person B, and no longer like the source
// person A? Measured with face-api's recognition net (core/face/recognition_net.h: a 128-d
// descriptor, Euclidean distances, 0.6 the usual same-person threshold), as the face-swap papers
// measure it with their recognition nets (FaceShifter, SimSwap: ID retrieval on FaceForensics++).
//
// Each person is represented by the centroid of their faces' descriptors: B's from B's extracted
// faces (an `fsc extract` output folder), A's from the source faces the alignments file lists.
// A centroid's spread (the mean distance of the person's own faces to it) says how close a real
// face of that person comes. For each swapped face: the distances to B's and to A's centroid, the
// distance to the source face of the same frame (person A in the same pose and light), and
// whether it is closer to B's centroid than to A's (ID retrieval between the two identities;
// the share of retrieved faces is the headline). Centroid against centroid keeps the test fair:
// a face that resembles nobody lies about as far from either mean, where a single source face
// would sit farther away than any mean and hand such a face to B.
#ifndef FSC_CORE_EVAL_IDENTITY_H_
#define FSC_CORE_EVAL_IDENTITY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/eval/net_pool.h"
#include "core/face/recognition_net.h"

namespace fsc::eval {

// face-api's same-person threshold on descriptor distance.
inline constexpr double kSamePersonDistance = 0.6;

struct IdentityReference {
  std::string dir;  // the face folder read
  face::Descriptor centroid;
  int64_t faces = 0;  // faces described (at most the cap, evenly spread over the folder)
  int64_t faces_in_folder = 0;
  double spread = 0;                  // mean distance of those faces to the centroid
  std::vector<std::string> warnings;  // PNGs without fsc metadata, skipped
};

// Describes up to `max_faces` faces of `dir` (fsc extract's -o folder, or a fetched job folder
// holding faces/), evenly spread over the sorted files, on their aligned crops with the landmarks
// their metadata carries. NOT_FOUND (naming the folder and what to run) when it holds no
// extracted faces.
// Faces are decoded and described on `threads` threads.
absl::StatusOr<IdentityReference> LoadIdentityReference(const std::string& dir, FaceNetPool& nets,
                                                        int max_faces, int threads);

// The element-wise mean (empty for no descriptors).
face::Descriptor MeanDescriptor(const std::vector<face::Descriptor>& descriptors);

// Mean distance of `descriptors` to `centroid` (0 for none).
double Spread(const std::vector<face::Descriptor>& descriptors, const face::Descriptor& centroid);

struct IdentitySample {
  double to_b = 0;         // swapped face to B's centroid
  double to_a = 0;         // swapped face to A's centroid
  double to_source = 0;    // swapped face to the source face of the same frame
  double source_to_b = 0;  // the source face to B's centroid (where the swap started from)
  bool retrieved = false;  // to_b < to_a
};

// With an empty `b_centroid` (no B given) to_b and source_to_b are NaN and nothing is retrieved.
IdentitySample CompareIdentity(const face::Descriptor& swapped, const face::Descriptor& source,
                               const face::Descriptor& a_centroid,
                               const face::Descriptor& b_centroid);

}  // namespace fsc::eval

#endif  // FSC_CORE_EVAL_IDENTITY_H_
