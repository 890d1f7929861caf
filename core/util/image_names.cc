// Image extensions by name.
#include "core/util/image_names.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iterator>

namespace fsc::util {

bool HasImageExtension(const std::string& path) {
  static const char* kExtensions[] = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"};
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(std::begin(kExtensions), std::end(kExtensions), ext) != std::end(kExtensions);
}

}  // namespace fsc::util
