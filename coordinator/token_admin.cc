// Token administration against the coordinator's database: create, list, revoke.
#include "coordinator/token_admin.h"

#include <cctype>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/scheduler.h"
#include "coordinator/tokens.h"
#include "core/util/flags.h"

namespace fsc::coordinator {
namespace {

using Args = std::vector<std::string>;

// What differs between user and join tokens, in one place.
struct KindWords {
  const char* verb;    // "token" / "join-token"
  const char* prefix;  // of the secret
  const char* what;    // "user token" / "join token"
};
KindWords Words(TokenKind kind) {
  return kind == TokenKind::kUser ? KindWords{"token", "fscu_", "user token"}
                                  : KindWords{"join-token", "fscj_", "join token"};
}

bool ValidUserName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '@';
    if (!ok) return false;
  }
  return true;
}

std::string FormatTime(int64_t unix_ms) {
  if (unix_ms == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

std::string StateOf(const TokenRecord& token, int64_t now_ms) {
  if (token.revoked_unix_ms != 0) return "revoked";
  return token.live(now_ms) ? "live" : "expired";
}

nlohmann::json ToJson(const TokenRecord& token, int64_t now_ms) {
  nlohmann::json out = {{"id", token.id()},
                        {"kind", Words(token.kind).what},
                        {"created_unix_ms", token.created_unix_ms},
                        {"expires_unix_ms", token.expires_unix_ms},
                        {"revoked_unix_ms", token.revoked_unix_ms},
                        {"state", StateOf(token, now_ms)}};
  if (token.kind == TokenKind::kUser) out["user"] = token.user;
  return out;
}

int Fail(const std::string& message) {
  std::cerr << "fsc-coordinator: " << message << "\n";
  return 1;
}

// Opens the database; `must_exist` for the commands that only read or change tokens (a typo in
// --db would otherwise create an empty database and report that nothing matched).
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& db, bool must_exist) {
  std::error_code ec;
  if (must_exist && !std::filesystem::exists(db, ec)) {
    return absl::NotFoundError(absl::StrCat("no database at '", db, "' (check --db)"));
  }
  return Store::Open(db);
}

// Parses flags with no positional arguments allowed unless `positional` is given.
std::optional<int> ParseFlags(util::FlagSet& flags, const Args& args, Args* positional) {
  Args words;
  if (std::optional<int> exit = flags.ParseOrExit(args, &words)) return exit;
  if (positional != nullptr) {
    *positional = std::move(words);
  } else if (!words.empty()) {
    std::cerr << "unexpected argument '" << words[0] << "' (see --help)\n";
    return 2;
  }
  return std::nullopt;
}

int RunCreate(const Args& args, TokenKind kind) {
  const KindWords words = Words(kind);
  std::string db, user, expires_in;
  bool json = false;
  util::FlagSet flags(
      absl::StrCat("fsc-coordinator ", words.verb, " create"),
      kind == TokenKind::kUser ? "--db PATH --user NAME [--expires-in D] [--json]"
                               : "--db PATH [--expires-in D] [--json]",
      kind == TokenKind::kUser
          ? "Creates a bearer token for a user of the fsc client. It is printed once; the "
            "database keeps only its SHA-256."
          : "Creates a cluster join token: workers pass it to Register. It is printed once; "
            "the database keeps only its SHA-256. Revoking it ends the sessions of the workers "
            "that joined with it.");
  flags.String("db", 0, &db, "the coordinator's SQLite database (created if missing)");
  if (kind == TokenKind::kUser) {
    flags.String("user", 0, &user, "the user the token authenticates (letters, digits, -_.@)");
  }
  flags.String("expires-in", 0, &expires_in,
               "refuse the token after this long: 90d, 12h, 30m, 1h30m (default: never)");
  flags.Bool("json", 0, &json, "print {\"token\", \"id\", ...} as JSON");
  if (std::optional<int> exit = ParseFlags(flags, args, nullptr)) return *exit;
  if (db.empty()) {
    std::cerr << "--db is required (see --help)\n";
    return 2;
  }
  if (kind == TokenKind::kUser && !ValidUserName(user)) {
    std::cerr << "--user must be 1 to 64 letters, digits or -_.@ (got '" << user << "')\n";
    return 2;
  }
  const int64_t now = Scheduler::NowMs();
  TokenRecord record{"", kind, user, now, 0, 0};
  if (!expires_in.empty()) {
    absl::StatusOr<absl::Duration> lifetime = ParseTokenLifetime(expires_in);
    if (!lifetime.ok()) {
      std::cerr << "--expires-in: " << lifetime.status().message() << "\n";
      return 2;
    }
    record.expires_unix_ms = now + absl::ToInt64Milliseconds(*lifetime);
  }
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(db, /*must_exist=*/false);
  if (!store.ok()) return Fail(std::string(store.status().message()));
  const std::string token = NewToken(words.prefix);
  record.hash = HashToken(token);
  if (absl::Status added = (*store)->AddToken(record); !added.ok()) {
    return Fail(std::string(added.message()));
  }
  if (json) {
    nlohmann::json out = ToJson(record, now);
    out["token"] = token;
    std::cout << out.dump() << "\n";
  } else {
    std::cout << token << "\n";
  }
  return 0;
}

int RunList(const Args& args, TokenKind kind) {
  const KindWords words = Words(kind);
  std::string db, user;
  bool json = false;
  util::FlagSet flags(
      absl::StrCat("fsc-coordinator ", words.verb, " list"),
      kind == TokenKind::kUser ? "--db PATH [--user NAME] [--json]" : "--db PATH [--json]",
      absl::StrCat("Lists the ", words.what,
                   "s of a coordinator's database: id (what 'revoke' takes), "
                   "times (UTC) and state. Secrets are never shown: only "
                   "their hashes are kept."));
  flags.String("db", 0, &db, "the coordinator's SQLite database");
  if (kind == TokenKind::kUser) flags.String("user", 0, &user, "only this user's tokens");
  flags.Bool("json", 0, &json, "print the tokens as a JSON array");
  if (std::optional<int> exit = ParseFlags(flags, args, nullptr)) return *exit;
  if (db.empty()) {
    std::cerr << "--db is required (see --help)\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(db, /*must_exist=*/true);
  if (!store.ok()) return Fail(std::string(store.status().message()));
  absl::StatusOr<std::vector<TokenRecord>> tokens = (*store)->ListTokens(kind);
  if (!tokens.ok()) return Fail(std::string(tokens.status().message()));
  const int64_t now = Scheduler::NowMs();
  nlohmann::json out = nlohmann::json::array();
  if (!json) {
    std::cout << absl::StrFormat("%-12s  %-16s  %-19s  %-19s  %s\n", "ID", "USER", "CREATED",
                                 "EXPIRES", "STATE");
  }
  for (const TokenRecord& token : *tokens) {
    if (!user.empty() && token.user != user) continue;
    if (json) {
      out.push_back(ToJson(token, now));
      continue;
    }
    std::cout << absl::StrFormat(
        "%-12s  %-16s  %-19s  %-19s  %s\n", token.id(), token.user.empty() ? "-" : token.user,
        FormatTime(token.created_unix_ms), FormatTime(token.expires_unix_ms), StateOf(token, now));
  }
  if (json) std::cout << out.dump() << "\n";
  return 0;
}

// The token an id (a prefix of its hash, as 'list' shows) names: NOT_FOUND or ambiguous
// (INVALID_ARGUMENT) otherwise.
absl::StatusOr<TokenRecord> Resolve(const std::vector<TokenRecord>& tokens, const std::string& id,
                                    const std::string& what) {
  bool hex = id.size() >= 6;
  for (char c : id) hex = hex && std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(c);
  if (!hex) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", id, "' is not a token id: 6 to 64 lowercase hex digits, as 'list' shows"));
  }
  std::vector<const TokenRecord*> matches;
  for (const TokenRecord& token : tokens) {
    if (token.hash.rfind(id, 0) == 0) matches.push_back(&token);
  }
  if (matches.empty()) {
    return absl::NotFoundError(absl::StrCat("no ", what, " has the id ", id));
  }
  if (matches.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the id ", id, " matches ", matches.size(), " tokens: give more digits"));
  }
  return *matches[0];
}

int RunRevoke(const Args& args, TokenKind kind) {
  const KindWords words = Words(kind);
  std::string db, user;
  bool json = false;
  util::FlagSet flags(
      absl::StrCat("fsc-coordinator ", words.verb, " revoke"),
      kind == TokenKind::kUser ? "--db PATH (ID... | --user NAME) [--json]"
                               : "--db PATH ID... [--json]",
      absl::StrCat("Revokes ", words.what,
                   "s by id (see 'list'). A running coordinator refuses them "
                   "from their next call on; they stay listed as revoked.",
                   kind == TokenKind::kUser ? " --user revokes every token of that user."
                                            : " The workers that joined with a revoked join token "
                                              "lose their sessions."));
  flags.String("db", 0, &db, "the coordinator's SQLite database");
  if (kind == TokenKind::kUser) flags.String("user", 0, &user, "revoke all of this user's tokens");
  flags.Bool("json", 0, &json, "print the revoked tokens as a JSON array");
  Args ids;
  if (std::optional<int> exit = ParseFlags(flags, args, &ids)) return *exit;
  if (db.empty() || (ids.empty() && user.empty())) {
    std::cerr << "--db and the ids of the tokens to revoke"
              << (kind == TokenKind::kUser ? " (or --user NAME)" : "") << " are required (see "
              << "--help)\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(db, /*must_exist=*/true);
  if (!store.ok()) return Fail(std::string(store.status().message()));
  absl::StatusOr<std::vector<TokenRecord>> tokens = (*store)->ListTokens(kind);
  if (!tokens.ok()) return Fail(std::string(tokens.status().message()));
  // Every id must name one live token of the kind (and of --user) before anything changes.
  std::vector<std::string> prefixes;
  for (const std::string& id : ids) {
    absl::StatusOr<TokenRecord> token = Resolve(*tokens, id, words.what);
    if (!token.ok()) return Fail(std::string(token.status().message()));
    if (!user.empty() && token->user != user) {
      return Fail(absl::StrCat("token ", id, " belongs to ", token->user, ", not ", user));
    }
    if (token->revoked_unix_ms != 0) {
      return Fail(absl::StrCat("token ", id, " was already revoked at ",
                               FormatTime(token->revoked_unix_ms), " UTC"));
    }
    prefixes.push_back(token->hash);
  }
  if (prefixes.empty()) prefixes.push_back("");  // --user alone: all of theirs
  const int64_t now = Scheduler::NowMs();
  std::vector<TokenRecord> revoked;
  for (const std::string& prefix : prefixes) {
    absl::StatusOr<std::vector<TokenRecord>> done = (*store)->RevokeTokens(kind, prefix, user, now);
    if (!done.ok()) return Fail(std::string(done.status().message()));
    revoked.insert(revoked.end(), done->begin(), done->end());
  }
  if (revoked.empty()) return Fail(absl::StrCat(user, " has no live ", words.what, "s"));
  nlohmann::json out = nlohmann::json::array();
  for (const TokenRecord& token : revoked) {
    if (json) {
      out.push_back(ToJson(token, now));
    } else {
      std::cout << "revoked " << words.what << " " << token.id()
                << (token.user.empty() ? "" : " of " + token.user) << "\n";
    }
  }
  if (json) std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace

absl::StatusOr<absl::Duration> ParseTokenLifetime(const std::string& text) {
  absl::Duration duration;
  int64_t days = 0;
  if (text.size() > 1 && text.back() == 'd' &&
      absl::SimpleAtoi(text.substr(0, text.size() - 1), &days)) {
    duration = absl::Hours(24) * days;
  } else if (!absl::ParseDuration(text, &duration)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a duration (examples: 90d, 12h, 30m, 1h30m)"));
  }
  if (duration <= absl::ZeroDuration() || duration > absl::Hours(24 * 365 * 100)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' must be more than 0 and at most 100 years"));
  }
  return duration;
}

int RunTokenCommand(const Args& args, TokenKind kind) {
  const KindWords words = Words(kind);
  const std::string usage =
      absl::StrCat("usage: fsc-coordinator ", words.verb, " create --db PATH",
                   kind == TokenKind::kUser ? " --user NAME" : "", " [--expires-in D] [--json]\n",
                   "       fsc-coordinator ", words.verb, " list --db PATH [--json]\n",
                   "       fsc-coordinator ", words.verb, " revoke --db PATH ",
                   kind == TokenKind::kUser ? "(ID... | --user NAME)" : "ID...", " [--json]\n");
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? std::cerr : std::cout) << usage;
    return args.empty() ? 2 : 0;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "create") return RunCreate(rest, kind);
  if (args[0] == "list") return RunList(rest, kind);
  if (args[0] == "revoke") return RunRevoke(rest, kind);
  std::cerr << "fsc-coordinator " << words.verb << ": unknown subcommand '" << args[0] << "'\n"
            << usage;
  return 2;
}

}  // namespace fsc::coordinator
