// Dataset listing/hashing, chunked uploads and downloads, and the worker's blob cache.
#include "core/rpc/transfer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/rpc/channel.h"
#include "core/rpc/version.h"
#include "core/util/sha256.h"
#include "core/util/status_macros.h"

namespace fsc::rpc {
namespace fs = std::filesystem;
namespace {

// A temporary name beside `path`, unique per process and call.
std::string TempNameFor(const std::string& path) {
  static std::atomic<int> counter{0};
  return absl::StrCat(path, ".part-", getpid(), "-", counter++);
}

// Streams a file into an output file while hashing; used by the cache and downloads.
class HashingWriter {
 public:
  absl::Status Open(const std::string& path) {
    path_ = path;
    fs::path parent = fs::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    out_.open(path, std::ios::binary | std::ios::trunc);
    if (!out_) return absl::PermissionDeniedError(absl::StrCat(path, ": cannot write"));
    return absl::OkStatus();
  }
  absl::Status Write(absl::string_view data) {
    out_.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out_) return absl::ResourceExhaustedError(absl::StrCat(path_, ": write failed"));
    hash_.Update(data);
    size_ += static_cast<int64_t>(data.size());
    return absl::OkStatus();
  }
  absl::Status Close() {
    out_.close();
    if (out_.fail()) return absl::ResourceExhaustedError(absl::StrCat(path_, ": write failed"));
    return absl::OkStatus();
  }
  std::string Digest() { return hash_.HexDigest(); }
  int64_t size() const { return size_; }

 private:
  std::string path_;
  std::ofstream out_;
  util::Sha256 hash_;
  int64_t size_ = 0;
};

absl::Status RenameInto(const std::string& temp, const std::string& dest) {
  std::error_code ec;
  fs::rename(temp, dest, ec);
  if (ec) {
    fs::remove(temp, ec);
    return absl::PermissionDeniedError(absl::StrCat(dest, ": cannot rename into place"));
  }
  return absl::OkStatus();
}

// Reads `path` chunk by chunk, calling `sink` with each piece.
absl::Status ReadChunks(const std::string& path,
                        const std::function<absl::Status(absl::string_view, bool last)>& sink) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open for reading"));
  std::error_code ec;
  int64_t size = static_cast<int64_t>(fs::file_size(path, ec));
  if (ec) return absl::NotFoundError(absl::StrCat(path, ": cannot stat"));
  std::string buffer(
      static_cast<size_t>(std::min<int64_t>(kChunkBytes, std::max<int64_t>(size, 1))), '\0');
  int64_t done = 0;
  if (size == 0) return sink(absl::string_view(), true);
  while (done < size) {
    int64_t n = std::min<int64_t>(kChunkBytes, size - done);
    in.read(buffer.data(), n);
    if (in.gcount() != n) {
      return absl::DataLossError(absl::StrCat(path, ": file shrank while being read"));
    }
    done += n;
    FSC_RETURN_IF_ERROR(
        sink(absl::string_view(buffer.data(), static_cast<size_t>(n)), done == size));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateRelativePath(absl::string_view path) {
  auto bad = [&](const char* why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid path '", path, "': ", why));
  };
  if (path.empty()) return bad("empty");
  if (path.size() > 4096) return bad("longer than 4096 bytes");
  if (path.front() == '/') return bad("absolute paths are not allowed");
  for (char c : path) {
    if (c == '\\') return bad("backslashes are not allowed (use '/')");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return bad("control characters are not allowed");
    }
  }
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty()) return bad("empty component ('//' or a trailing '/')");
    if (part == ".") return bad("'.' components are not allowed");
    if (part == "..") return bad("'..' components are not allowed");
  }
  return absl::OkStatus();
}

absl::Status ValidateSha256(absl::string_view hex) {
  bool ok = hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
              return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            });
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", hex, "' is not a sha256 (64 lowercase hex digits)"));
  }
  return absl::OkStatus();
}

namespace {

// Lists the regular files under `dir` (symbolic links followed) into `files` as (path relative to
// `root`, path). `ancestors` holds the (device, inode) of every folder from `root` down to `dir`:
// a link back to one of them is a loop, refused before anything is hashed or sent.
absl::Status ListFolder(const fs::path& root, const fs::path& dir,
                        std::vector<std::pair<dev_t, ino_t>>* ancestors,
                        std::vector<std::pair<std::string, std::string>>* files) {
  std::error_code ec;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    entries.push_back(it->path());
  }
  if (ec)
    return absl::PermissionDeniedError(absl::StrCat(dir.string(), ": cannot list: ", ec.message()));
  std::sort(entries.begin(), entries.end());
  for (const fs::path& entry : entries) {
    struct stat info;
    if (::stat(entry.c_str(), &info) != 0) continue;  // a dangling link: nothing to send
    if (S_ISREG(info.st_mode)) {
      files->emplace_back(fs::relative(entry, root, ec).generic_string(), entry.string());
      continue;
    }
    if (!S_ISDIR(info.st_mode)) continue;  // sockets, devices, pipes
    const std::pair<dev_t, ino_t> id(info.st_dev, info.st_ino);
    if (std::find(ancestors->begin(), ancestors->end(), id) != ancestors->end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          entry.string(), " leads back to a folder that contains it (a symbolic link loop): ",
          "remove the link or give a folder without it"));
    }
    ancestors->push_back(id);
    FSC_RETURN_IF_ERROR(ListFolder(root, entry, ancestors, files));
    ancestors->pop_back();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<proto::FileEntry>> ListDataset(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  std::vector<std::pair<std::string, std::string>> files;  // relative path, absolute path
  if (fs::is_regular_file(path, ec)) {
    files.emplace_back(fs::path(path).filename().string(), path);
  } else if (fs::is_directory(path, ec)) {
    struct stat info;
    if (::stat(path.c_str(), &info) != 0) {
      return absl::PermissionDeniedError(absl::StrCat(path, ": cannot stat"));
    }
    std::vector<std::pair<dev_t, ino_t>> ancestors = {{info.st_dev, info.st_ino}};
    FSC_RETURN_IF_ERROR(ListFolder(path, path, &ancestors, &files));
    if (files.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": the folder holds no files"));
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file or a folder"));
  }
  std::sort(files.begin(), files.end());
  std::vector<proto::FileEntry> entries;
  entries.reserve(files.size());
  for (const auto& [relative, absolute] : files) {
    FSC_RETURN_IF_ERROR(ValidateRelativePath(relative));
    proto::FileEntry entry;
    entry.set_path(relative);
    entry.set_size(static_cast<int64_t>(fs::file_size(absolute, ec)));
    if (ec) return absl::NotFoundError(absl::StrCat(absolute, ": cannot stat"));
    FSC_ASSIGN_OR_RETURN(std::string sha, util::Sha256File(absolute));
    entry.set_sha256(sha);
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::string CanonicalFileList(const std::vector<proto::FileEntry>& files) {
  std::vector<const proto::FileEntry*> sorted;
  for (const auto& f : files) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(), [](const proto::FileEntry* a, const proto::FileEntry* b) {
    return a->path() < b->path();
  });
  std::string out;
  for (const auto* f : sorted)
    absl::StrAppend(&out, f->path(), "\t", f->size(), "\t", f->sha256(), "\n");
  return out;
}

std::string DatasetId(const std::vector<proto::FileEntry>& files) {
  return util::Sha256Hex(CanonicalFileList(files));
}

absl::Status ValidateFileList(const std::vector<proto::FileEntry>& files) {
  std::set<std::string> seen;
  for (const auto& f : files) {
    FSC_RETURN_IF_ERROR(ValidateRelativePath(f.path()));
    FSC_RETURN_IF_ERROR(ValidateSha256(f.sha256()));
    if (f.size() < 0) {
      return absl::InvalidArgumentError(absl::StrCat("'", f.path(), "': negative size"));
    }
    if (!seen.insert(f.path()).second) {
      return absl::InvalidArgumentError(absl::StrCat("'", f.path(), "' is listed twice"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<proto::Dataset> UploadDataset(proto::ClientService::StubInterface* stub,
                                             const std::string& token,
                                             const std::string& local_path, const std::string& name,
                                             const ByteProgress& progress,
                                             const proto::MediaInfo* media) {
  FSC_ASSIGN_OR_RETURN(std::vector<proto::FileEntry> files, ListDataset(local_path));
  int64_t total = 0;
  for (const auto& f : files) total += f.size();
  const bool single_file = fs::is_regular_file(local_path);

  grpc::ClientContext context;
  AddAuth(&context, token);
  proto::Dataset dataset;
  std::unique_ptr<grpc::ClientWriterInterface<proto::UploadDatasetRequest>> writer(
      stub->UploadDataset(&context, &dataset));
  proto::UploadDatasetRequest request;
  request.mutable_header()->set_version(kClusterProtoVersion);
  request.mutable_header()->set_name(name);
  for (const auto& f : files) *request.mutable_header()->add_files() = f;
  if (media != nullptr) *request.mutable_header()->mutable_media() = *media;
  bool stream_ok = writer->Write(request);
  int64_t done = 0;
  for (const auto& f : files) {
    if (!stream_ok) break;
    std::string file = single_file ? local_path : (fs::path(local_path) / f.path()).string();
    int64_t offset = 0;
    absl::Status read = ReadChunks(file, [&](absl::string_view data, bool last) {
      proto::UploadDatasetRequest chunk_request;
      proto::FileChunk* chunk = chunk_request.mutable_chunk();
      chunk->set_path(f.path());
      chunk->set_offset(offset);
      chunk->set_data(std::string(data));
      chunk->set_last(last);
      offset += static_cast<int64_t>(data.size());
      done += static_cast<int64_t>(data.size());
      if (!writer->Write(chunk_request)) {
        stream_ok = false;
        return absl::CancelledError("stream closed");
      }
      if (progress) progress(done, total);
      return absl::OkStatus();
    });
    if (!read.ok() && stream_ok) {
      context.TryCancel();
      writer->Finish();
      return read;
    }
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) return FromGrpc(status, absl::StrCat("uploading ", local_path));
  return dataset;
}

absl::StatusOr<std::vector<proto::FileEntry>> DownloadArtifacts(
    proto::ClientService::StubInterface* stub, const std::string& token, const std::string& job_id,
    const std::string& artifact_path, const std::string& folder,
    const std::vector<proto::FileEntry>& expected, const ByteProgress& progress) {
  std::map<std::string, proto::FileEntry> wanted;
  int64_t total = 0;
  for (const auto& f : expected) {
    if (!artifact_path.empty() && f.path() != artifact_path) continue;
    wanted[f.path()] = f;
    total += f.size();
  }
  grpc::ClientContext context;
  AddAuth(&context, token);
  proto::DownloadArtifactRequest request;
  request.set_version(kClusterProtoVersion);
  request.set_job_id(job_id);
  request.set_path(artifact_path);
  std::unique_ptr<grpc::ClientReaderInterface<proto::FileChunk>> reader(
      stub->DownloadArtifact(&context, request));

  std::vector<proto::FileEntry> written;
  std::string current;  // path being received
  std::string temp;
  std::unique_ptr<HashingWriter> out;
  int64_t done = 0;
  absl::Status error;
  auto abandon = [&]() {
    if (out) {
      out->Close().IgnoreError();
      std::error_code ec;
      fs::remove(temp, ec);
      out.reset();
    }
  };
  proto::FileChunk chunk;
  while (error.ok() && reader->Read(&chunk)) {
    if (!out) {
      error = ValidateRelativePath(chunk.path());
      if (!error.ok()) break;
      current = chunk.path();
      std::string dest = (fs::path(folder) / current).string();
      temp = TempNameFor(dest);
      out = std::make_unique<HashingWriter>();
      error = out->Open(temp);
      if (!error.ok()) break;
    } else if (chunk.path() != current) {
      error = absl::DataLossError(absl::StrCat("artifact '", current, "' ended without its last ",
                                               "chunk before '", chunk.path(), "' began"));
      break;
    }
    if (chunk.offset() != out->size()) {
      error = absl::DataLossError(absl::StrCat("artifact '", current, "': chunk at offset ",
                                               chunk.offset(), ", expected ", out->size()));
      break;
    }
    error = out->Write(chunk.data());
    if (!error.ok()) break;
    done += static_cast<int64_t>(chunk.data().size());
    if (progress) progress(done, total);
    if (!chunk.last()) continue;
    error = out->Close();
    if (!error.ok()) break;
    proto::FileEntry entry;
    entry.set_path(current);
    entry.set_size(out->size());
    entry.set_sha256(out->Digest());
    auto it = wanted.find(current);
    if (!wanted.empty()) {
      if (it == wanted.end()) {
        error = absl::DataLossError(absl::StrCat("the coordinator sent '", current,
                                                 "', which is not one of the job's artifacts"));
        break;
      }
      if (it->second.size() != entry.size() || it->second.sha256() != entry.sha256()) {
        error = absl::DataLossError(absl::StrCat("artifact '", current, "' arrived corrupted (",
                                                 entry.size(), " bytes, sha256 ", entry.sha256(),
                                                 "; expected ", it->second.size(), " bytes, ",
                                                 it->second.sha256(), ")"));
        break;
      }
    }
    out.reset();
    error = RenameInto(temp, (fs::path(folder) / current).string());
    if (!error.ok()) break;
    written.push_back(std::move(entry));
  }
  if (!error.ok()) {
    abandon();
    context.TryCancel();
    reader->Finish().ok();
    return error;
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) {
    abandon();
    return FromGrpc(status, absl::StrCat("downloading the artifacts of job ", job_id));
  }
  if (out) {
    abandon();
    return absl::DataLossError(absl::StrCat("artifact '", current, "' was cut short"));
  }
  for (const auto& [path, entry] : wanted) {
    bool got = std::any_of(written.begin(), written.end(),
                           [&](const proto::FileEntry& w) { return w.path() == path; });
    if (!got) return absl::DataLossError(absl::StrCat("artifact '", path, "' was not sent"));
  }
  return written;
}

absl::StatusOr<proto::FileEntry> UploadBlob(proto::WorkerService::StubInterface* stub,
                                            const std::string& token, const std::string& local_file,
                                            const std::string& entry_path) {
  FSC_RETURN_IF_ERROR(ValidateRelativePath(entry_path));
  FSC_ASSIGN_OR_RETURN(std::string sha, util::Sha256File(local_file));
  grpc::ClientContext context;
  AddAuth(&context, token);
  proto::UploadBlobResponse response;
  std::unique_ptr<grpc::ClientWriterInterface<proto::BlobChunk>> writer(
      stub->UploadBlob(&context, &response));
  bool first = true;
  absl::Status read = ReadChunks(local_file, [&](absl::string_view data, bool) {
    proto::BlobChunk chunk;
    if (first) chunk.set_sha256(sha);
    first = false;
    chunk.set_data(std::string(data));
    if (!writer->Write(chunk)) return absl::CancelledError("stream closed");
    return absl::OkStatus();
  });
  if (!read.ok() && !absl::IsCancelled(read)) {
    context.TryCancel();
    writer->Finish();
    return read;
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) return FromGrpc(status, absl::StrCat("uploading ", entry_path));
  if (response.sha256() != sha) {
    return absl::DataLossError(absl::StrCat("uploading ", entry_path, ": the coordinator stored ",
                                            response.sha256(), ", expected ", sha));
  }
  proto::FileEntry entry;
  entry.set_path(entry_path);
  entry.set_size(response.size());
  entry.set_sha256(sha);
  return entry;
}

BlobCache::BlobCache(std::string dir) : dir_(std::move(dir)) {}

std::string BlobCache::PathOf(const std::string& sha256) const {
  return (fs::path(dir_) / sha256.substr(0, 2) / sha256).string();
}

bool BlobCache::Has(const std::string& sha256) const {
  std::error_code ec;
  return ValidateSha256(sha256).ok() && fs::is_regular_file(PathOf(sha256), ec);
}

absl::Status BlobCache::Fetch(proto::WorkerService::StubInterface* stub, const std::string& token,
                              const std::string& sha256, int64_t size,
                              const ByteProgress& progress) {
  FSC_RETURN_IF_ERROR(ValidateSha256(sha256));
  if (Has(sha256)) return absl::OkStatus();
  std::string dest = PathOf(sha256);
  std::string temp = TempNameFor(dest);
  HashingWriter out;
  FSC_RETURN_IF_ERROR(out.Open(temp));
  grpc::ClientContext context;
  AddAuth(&context, token);
  proto::FetchBlobRequest request;
  request.set_version(kClusterProtoVersion);
  request.set_sha256(sha256);
  std::unique_ptr<grpc::ClientReaderInterface<proto::BlobChunk>> reader(
      stub->FetchBlob(&context, request));
  proto::BlobChunk chunk;
  absl::Status error;
  while (reader->Read(&chunk)) {
    error = out.Write(chunk.data());
    if (!error.ok()) break;
    if (progress) progress(out.size(), size);
  }
  if (!error.ok()) context.TryCancel();
  grpc::Status status = reader->Finish();
  absl::Status closed = out.Close();
  std::error_code ec;
  if (error.ok()) error = FromGrpc(status, absl::StrCat("fetching blob ", sha256));
  if (error.ok()) error = closed;
  if (error.ok() && size >= 0 && out.size() != size) {
    error = absl::DataLossError(
        absl::StrCat("blob ", sha256, ": received ", out.size(), " bytes, expected ", size));
  }
  if (error.ok()) {
    std::string digest = out.Digest();
    if (digest != sha256) {
      error =
          absl::DataLossError(absl::StrCat("blob ", sha256, ": received bytes hash to ", digest));
    }
  }
  if (!error.ok()) {
    fs::remove(temp, ec);
    return error;
  }
  // Cached blobs are shared by hard links into task folders: make them read-only so that no task
  // can change the cache's bytes in place.
  fs::permissions(temp, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read, ec);
  return RenameInto(temp, dest);
}

absl::StatusOr<std::string> BlobCache::Add(const std::string& file, const std::string& sha256) {
  std::string dest_temp = TempNameFor((fs::path(dir_) / "incoming").string());
  HashingWriter out;
  FSC_RETURN_IF_ERROR(out.Open(dest_temp));
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::error_code ec;
    fs::remove(dest_temp, ec);
    return absl::NotFoundError(absl::StrCat(file, ": cannot open for reading"));
  }
  std::string buffer(static_cast<size_t>(kChunkBytes), '\0');
  absl::Status error;
  while (error.ok() && in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) error = out.Write(absl::string_view(buffer.data(), in.gcount()));
  }
  if (error.ok()) error = out.Close();
  std::string digest = out.Digest();
  if (error.ok() && !sha256.empty() && digest != sha256) {
    error = absl::DataLossError(absl::StrCat(file, ": hashes to ", digest, ", expected ", sha256));
  }
  std::error_code ec;
  if (!error.ok()) {
    fs::remove(dest_temp, ec);
    return error;
  }
  fs::permissions(dest_temp, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read,
                  ec);
  std::string dest = PathOf(digest);
  fs::create_directories(fs::path(dest).parent_path(), ec);
  FSC_RETURN_IF_ERROR(RenameInto(dest_temp, dest));
  return digest;
}

absl::Status BlobCache::Materialize(const std::string& sha256, const std::string& dest) const {
  FSC_RETURN_IF_ERROR(ValidateSha256(sha256));
  std::string source = PathOf(sha256);
  std::error_code ec;
  if (!fs::is_regular_file(source, ec)) {
    return absl::NotFoundError(absl::StrCat("blob ", sha256, " is not in the cache ", dir_));
  }
  fs::path target(dest);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  fs::remove(target, ec);
  fs::create_hard_link(source, target, ec);
  if (!ec) return absl::OkStatus();
  // Another file system: copy, then make the copy writable by its owner like any task file.
  ec.clear();
  fs::copy_file(source, target, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot place blob ", sha256, " at ", dest, ": ", ec.message()));
  }
  fs::permissions(target, fs::perms::owner_write, fs::perm_options::add, ec);
  return absl::OkStatus();
}

}  // namespace fsc::rpc
