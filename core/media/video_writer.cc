// ffmpeg-backed video output and ffprobe queries (see video_writer.h).
#include "core/media/video_writer.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/util/status_macros.h"
#include "core/util/subprocess.h"

namespace fsc::media {
namespace {

namespace fs = std::filesystem;

// "num/den" -> value; 0 for "0/0" and anything unparsable.
double RationalValue(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  double num = 0, den = 1;
  if (parts.empty() || !absl::SimpleAtod(parts[0], &num)) return 0;
  if (parts.size() > 1 && !absl::SimpleAtod(parts[1], &den)) return 0;
  return den > 0 ? num / den : 0;
}

std::string JsonString(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return "";
  if (j.at(key).is_string()) return j.at(key).get<std::string>();
  if (j.at(key).is_number()) return j.at(key).dump();
  return "";
}

std::string Extension(const std::string& path) {
  return absl::AsciiStrToLower(fs::path(path).extension().string());
}

absl::Status NotInstalled(const std::string& program, const absl::Status& status) {
  if (status.code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(absl::StrCat(program,
                                            " is not installed (or not on PATH); fsc needs it for "
                                            "video: apt-get install ffmpeg"));
  }
  return status;
}

}  // namespace

absl::StatusOr<VideoInfo> ProbeVideo(const std::string& path, const std::string& ffprobe) {
  absl::StatusOr<util::ProcessResult> run = util::RunProcess(
      {ffprobe, "-v", "error", "-show_streams", "-show_format", "-of", "json", path});
  if (!run.ok()) return NotInstalled(ffprobe, run.status());
  if (run->exit_code != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ffprobe cannot read ", path, ": ", absl::StripAsciiWhitespace(run->err)));
  }
  nlohmann::json json = nlohmann::json::parse(run->out, nullptr, false);
  if (json.is_discarded() || !json.contains("streams")) {
    return absl::InvalidArgumentError(absl::StrCat("ffprobe gave no stream list for ", path));
  }
  VideoInfo info;
  bool video = false;
  for (const nlohmann::json& stream : json["streams"]) {
    const std::string type = JsonString(stream, "codec_type");
    if (type == "video" && !video) {
      video = true;
      info.width = stream.value("width", 0);
      info.height = stream.value("height", 0);
      // avg_frame_rate = frames / duration, which is what keeps count and duration together;
      // r_frame_rate when the container does not know the average.
      std::string rate = JsonString(stream, "avg_frame_rate");
      if (RationalValue(rate) <= 0) rate = JsonString(stream, "r_frame_rate");
      info.frame_rate = rate;
      info.fps = RationalValue(rate);
      int64_t frames = 0;
      if (absl::SimpleAtoi(JsonString(stream, "nb_frames"), &frames)) info.frame_count = frames;
      double duration = 0;
      if (absl::SimpleAtod(JsonString(stream, "duration"), &duration)) info.duration = duration;
    } else if (type == "audio" && !info.has_audio) {
      info.has_audio = true;
      info.audio_codec = JsonString(stream, "codec_name");
    }
  }
  if (!video) return absl::InvalidArgumentError(absl::StrCat(path, " has no video stream"));
  if (info.duration <= 0 && json.contains("format")) {
    double duration = 0;
    if (absl::SimpleAtod(JsonString(json["format"], "duration"), &duration)) {
      info.duration = duration;
    }
  }
  if (info.fps <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, " has no usable frame rate"));
  }
  return info;
}

absl::Status CheckEncoder(const std::string& codec, const std::string& ffmpeg) {
  absl::StatusOr<util::ProcessResult> run = util::RunProcess({ffmpeg, "-hide_banner", "-encoders"});
  if (!run.ok()) return NotInstalled(ffmpeg, run.status());
  for (absl::string_view line : absl::StrSplit(run->out, '\n')) {
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    // " V....D libx264  libx264 H.264 ...": flags (video first), then the encoder name.
    if (words.size() >= 2 && words[0].size() == 6 && words[0][0] == 'V' && words[1] == codec) {
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "ffmpeg has no video encoder \"", codec,
      "\"; see 'ffmpeg -encoders' (libx264 is the default, libx265 and libvpx-vp9 are common)"));
}

std::string AudioCodecFor(const std::string& output_path, const std::string& source_codec) {
  const std::string ext = Extension(output_path);
  auto in = [&](std::initializer_list<const char*> codecs) {
    return std::any_of(codecs.begin(), codecs.end(),
                       [&](const char* c) { return source_codec == c; });
  };
  if (ext == ".mkv" || ext == ".mka") return "copy";  // Matroska takes any codec
  if (ext == ".webm") return in({"opus", "vorbis"}) ? "copy" : "libopus";
  if (ext == ".mp4" || ext == ".m4v" || ext == ".mov") {
    return in({"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}) ? "copy" : "aac";
  }
  if (ext == ".avi") return in({"mp3", "ac3", "pcm_s16le", "pcm_u8", "aac"}) ? "copy" : "aac";
  return in({"aac", "mp3"}) ? "copy" : "aac";
}

std::vector<std::string> FfmpegEncodeArgs(const std::string& output, int width, int height,
                                          const std::string& frame_rate,
                                          const VideoWriterOptions& o) {
  std::vector<std::string> args = {
      o.ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
      "-f",     "rawvideo",     "-pix_fmt",  "bgr24", "-s",       absl::StrCat(width, "x", height),
      "-r",     frame_rate,     "-i",        "pipe:0"};
  const bool audio = !o.audio_source.empty() && !o.audio_codec.empty();
  if (audio) {
    args.insert(args.end(), {"-i", o.audio_source, "-map", "0:v:0", "-map", "1:a:0?", "-c:a",
                             AudioCodecFor(output, o.audio_codec)});
  } else {
    args.insert(args.end(), {"-map", "0:v:0"});
  }
  args.insert(args.end(), {"-c:v", o.codec});
  if (o.codec == "libx264" || o.codec == "libx265") {
    args.insert(args.end(), {"-crf", std::to_string(o.crf), "-preset", o.preset});
  } else if (o.codec == "libvpx-vp9") {
    args.insert(args.end(), {"-crf", std::to_string(o.crf), "-b:v", "0"});
  }
  // 4:2:0 is what players expect; it needs even sides, so odd frames keep full chroma instead.
  const bool even = width % 2 == 0 && height % 2 == 0;
  args.insert(args.end(), {"-pix_fmt", even ? "yuv420p" : "yuv444p"});
  args.insert(args.end(), o.extra_output_args.begin(), o.extra_output_args.end());
  args.push_back(output);
  return args;
}

absl::StatusOr<std::unique_ptr<VideoWriter>> VideoWriter::Open(const std::string& path, int width,
                                                               int height,
                                                               const std::string& frame_rate,
                                                               const VideoWriterOptions& options) {
  const fs::path out(path);
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("output folder ", dir.string(), " does not exist; create it first"));
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("output folder ", dir.string(), " is not writable"));
  }
  std::unique_ptr<VideoWriter> writer(new VideoWriter());
  writer->path_ = path;
  writer->temp_path_ =
      (dir / absl::StrCat(".fsc-tmp-", ::getpid(), "-", out.filename().string())).string();
  writer->width_ = width;
  writer->height_ = height;
  absl::StatusOr<std::unique_ptr<util::ChildProcess>> child = util::ChildProcess::Start(
      FfmpegEncodeArgs(writer->temp_path_, width, height, frame_rate, options));
  if (!child.ok()) return NotInstalled(options.ffmpeg, child.status());
  writer->child_ = *std::move(child);
  return writer;
}

VideoWriter::~VideoWriter() {
  if (!done_) Abort();
}

absl::Status VideoWriter::Write(const cv::Mat& bgr) {
  if (bgr.cols != width_ || bgr.rows != height_ || bgr.type() != CV_8UC3) {
    return absl::InvalidArgumentError(absl::StrCat("video frame must be ", width_, "x", height_,
                                                   " 8-bit BGR, got ", bgr.cols, "x", bgr.rows));
  }
  absl::Status status;
  if (bgr.isContinuous()) {
    status = child_->Write(bgr.data, bgr.total() * bgr.elemSize());
  } else {
    for (int y = 0; y < bgr.rows && status.ok(); ++y) {
      status = child_->Write(bgr.ptr(y), static_cast<size_t>(bgr.cols) * 3);
    }
  }
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("ffmpeg stopped taking frames while writing ", path_, ": ", status.message()));
  }
  ++frames_;
  return absl::OkStatus();
}

absl::Status VideoWriter::Finish() {
  if (done_) return absl::FailedPreconditionError("video writer already finished");
  done_ = true;
  absl::StatusOr<int> code = child_->Finish();
  std::error_code ec;
  if (!code.ok() || *code != 0) {
    const std::string tail = std::string(absl::StripAsciiWhitespace(child_->StderrTail()));
    fs::remove(temp_path_, ec);
    return absl::InternalError(absl::StrCat(
        "ffmpeg failed writing ", path_, " (",
        code.ok() ? absl::StrCat("exit code ", *code) : std::string(code.status().message()), ")",
        tail.empty() ? "" : ": ", tail));
  }
  fs::rename(temp_path_, path_, ec);
  if (ec) {
    fs::remove(temp_path_, ec);
    return absl::InternalError(
        absl::StrCat("cannot rename the finished video to ", path_, ": ", ec.message()));
  }
  return absl::OkStatus();
}

void VideoWriter::Abort() {
  done_ = true;
  if (child_) child_->Kill();
  std::error_code ec;
  fs::remove(temp_path_, ec);
}

}  // namespace fsc::media
