// A thin RAII layer over the SQLite C API for the coordinator's store: one connection, prepared
// statements with positional binding, and errors as absl::Status naming the statement and the
// database file. Not thread-safe; the Store serialises access.
#ifndef FSC_COORDINATOR_SQLITE_H_
#define FSC_COORDINATOR_SQLITE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct sqlite3;
struct sqlite3_stmt;

namespace fsc::coordinator {

class SqliteDb;

// A prepared statement. Bind with 1-based indexes, then Step() until it returns false.
class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  SqliteStatement(const SqliteStatement&) = delete;
  ~SqliteStatement();

  SqliteStatement& Bind(int index, int64_t value);
  SqliteStatement& Bind(int index, absl::string_view text);
  SqliteStatement& BindBlob(int index, absl::string_view bytes);
  SqliteStatement& BindDouble(int index, double value);

  // True when a row is available, false when done; an error otherwise (also for a bind error).
  absl::StatusOr<bool> Step();
  // Runs to completion, ignoring rows.
  absl::Status Run();

  int64_t Int(int column) const;
  double Double(int column) const;
  std::string Text(int column) const;  // text or blob bytes
  bool IsNull(int column) const;

 private:
  friend class SqliteDb;
  SqliteStatement(SqliteDb* db, sqlite3_stmt* stmt, std::string sql);

  SqliteDb* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
  absl::Status bind_status_;
};

class SqliteDb {
 public:
  // Opens (creating) the file at `path` with WAL journaling and synchronous=FULL, so a commit is
  // on disk when it returns and a kill -9 never loses or tears a committed transaction.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements without results (schema, pragmas, BEGIN/COMMIT).
  absl::Status Exec(const std::string& sql);
  absl::StatusOr<SqliteStatement> Prepare(const std::string& sql);
  int64_t Changes() const;
  const std::string& path() const { return path_; }

  // Builds an INTERNAL status naming the database, the statement and SQLite's message.
  absl::Status Error(int code, const std::string& sql) const;

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_SQLITE_H_
