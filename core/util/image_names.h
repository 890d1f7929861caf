// Which file names are images: the one rule the coordinator's planner (images of a dataset are its
// frames), the worker's frame sources and the local verbs share. By name only: nothing here opens
// a file, so processes that never decode media can use it.
#ifndef FSC_CORE_UTIL_IMAGE_NAMES_H_
#define FSC_CORE_UTIL_IMAGE_NAMES_H_

#include <string>

namespace fsc::util {

// True when `path` ends in an image extension fsc reads (.jpg .jpeg .png .bmp .webp .tif .tiff,
// any case).
bool HasImageExtension(const std::string& path);

}  // namespace fsc::util

#endif  // FSC_CORE_UTIL_IMAGE_NAMES_H_
