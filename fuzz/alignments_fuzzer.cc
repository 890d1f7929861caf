// Fuzzes the alignments file reader (core/face/alignments_file.h) that extract --resume, convert
// and `fsc alignments dump` go through: no file may crash it or hit undefined behaviour, and a
// file that reads back dumps to JSON and survives a write/read round trip unchanged. The reader
// takes a path, so each input is written to scratch files of this fuzzing process (in memory,
// /dev/shm, where there is one: the round trip's atomic write flushes to disk).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/face/alignments_file.h"

namespace {

std::string ScratchPath(const char* what) {
  std::error_code ec;
  const std::string dir = std::filesystem::is_directory("/dev/shm", ec)
                              ? "/dev/shm"
                              : std::filesystem::temp_directory_path().string();
  return dir + "/fsc-alignments-fuzz-" + std::to_string(getpid()) + "-" + what;
}

const std::string& InputPath() {
  static const std::string path = ScratchPath("input.fsca");
  return path;
}

const std::string& AgainPath() {
  static const std::string path = ScratchPath("again.fsca");
  return path;
}

void RemoveScratchFiles() {
  std::remove(InputPath().c_str());
  std::remove(AgainPath().c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool registered = std::atexit(RemoveScratchFiles) == 0;
  (void)registered;
  const std::string& input = InputPath();
  const std::string& again = AgainPath();
  {
    std::ofstream out(input, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) __builtin_trap();
  }
  absl::StatusOr<fsc::proto::Alignments> alignments = fsc::face::ReadAlignments(input);
  if (!alignments.ok()) return 0;
  if (fsc::face::AlignmentsToJson(*alignments, /*pretty=*/false).empty()) __builtin_trap();
  if (!fsc::face::WriteAlignments(again, *alignments).ok()) __builtin_trap();
  absl::StatusOr<fsc::proto::Alignments> reread = fsc::face::ReadAlignments(again);
  if (!reread.ok()) __builtin_trap();
  // Writing upgrades an older format's file to the current version; the rest stays as read.
  if (reread->version() != fsc::face::kAlignmentsVersion) __builtin_trap();
  reread->set_version(alignments->version());
  if (reread->SerializeAsString() != alignments->SerializeAsString()) {
    __builtin_trap();
  }
  return 0;
}
