// Notices new training previews and reports them for upload.
#include "worker/preview_publisher.h"

#include "absl/strings/str_cat.h"

namespace fsc::worker {
namespace fs = std::filesystem;

PreviewPublisher::PreviewPublisher(const std::string& model_dir, const std::string& scratch_dir,
                                   const TaskEnv& env)
    : preview_(fs::path(model_dir) / "preview.png"),
      copies_(fs::path(scratch_dir) / "previews"),
      env_(env) {}

bool PreviewPublisher::Poll(int64_t iteration) {
  std::error_code ec;
  const fs::file_time_type written = fs::last_write_time(preview_, ec);
  if (ec || (last_ && *last_ == written)) return false;
  last_ = written;
  fs::create_directories(copies_, ec);
  // One file per preview: the reporter may still be uploading the previous one.
  const fs::path copy = copies_ / absl::StrCat("preview-", iteration, ".png");
  fs::copy_file(preview_, copy, fs::copy_options::overwrite_existing, ec);
  if (ec) return false;  // a preview is best effort; the next one follows
  env_.ReportPreview(copy.string(), iteration);
  return true;
}

}  // namespace fsc::worker
