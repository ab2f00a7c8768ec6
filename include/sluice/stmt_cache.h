// Prepared statements shared by pooled connections.
//
// A client's statement is not tied to one backend connection. What a server answered to
// COM_STMT_PREPARE for a (backend login, schema, SQL text) is kept once, process-wide, in
// the StmtCache: a second client preparing the same text is answered from it without a
// backend round trip. Each backend connection prepares a cached statement lazily, the
// first time it is lent for an execution of it, and remembers the server's statement id
// in its BackendStatements, a map bounded per connection (pool.max_prepared_statements)
// that closes its least recently used statement beyond the bound, so the servers'
// max_prepared_stmt_count never fills up.
//
// Owns: cache entries (immutable once published, apart from the shared column
// definitions of executions, see PreparedStmt::share_columns) and per-connection maps.
// Does not own: sockets. Callers send the COM_STMT_CLOSEs this module asks for.
// Thread rules: StmtCache and PreparedStmt may be used from any worker (sharded mutexes,
// held for a lookup or insert only, never on the execute path); a BackendStatements is
// used on the loop that owns its connection only.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sluice/classifier.h"

namespace sluice {

using ColumnDefs = std::vector<std::string>;  // column definition payloads, as clients see them

// The server's answer to one COM_STMT_PREPARE, as any client may be given it.
struct PreparedStmt {
  uint64_t id = 0;  // process-wide, never reused: the key of BackendStatements
  std::string schema;
  // The rest of the session that shapes the answer (character_set_results: column
  // charsets and lengths; sql_mode: how the text parses), in the cache key.
  std::string context;
  std::string sql;
  Classification cls;  // where executions may run (classified once, at prepare time)
  std::string digest_text;  // for stats_mysql_query_digest and rules (once, at prepare time)
  uint64_t digest_hash = 0;
  uint16_t params = 0;
  uint16_t columns = 0;
  uint16_t warnings = 0;  // of the prepare itself
  ColumnDefs param_defs;
  std::shared_ptr<const ColumnDefs> column_defs;  // as sent with the prepare answer

  // Column definitions an execution sent in full (they may differ from the prepare-time
  // ones: parameter types decide some column types). Equal lists are shared by every
  // connection that executes this statement, so each keeps a pointer, not a copy.
  std::shared_ptr<const ColumnDefs> share_columns(ColumnDefs&& defs) const;

 private:
  mutable std::mutex mu_;
  mutable std::shared_ptr<const ColumnDefs> exec_defs_;
};

class StmtCache {
 public:
  using Ptr = std::shared_ptr<const PreparedStmt>;

  // Entries nobody uses any more are dropped, least recently used first, once the cache
  // holds more than `max_entries`; entries still in use are never dropped.
  explicit StmtCache(size_t max_entries = 8192);

  // The cached answer for `sql` prepared by `login` in `schema` and `context`, or nullptr.
  Ptr find(std::string_view login, std::string_view schema, std::string_view context, std::string_view sql);
  // Makes `fresh` (learned from a backend) the answer for its key and returns it. If
  // another session published the same key meanwhile with the same counts, that entry is
  // returned instead, so connections that prepared either share one id.
  Ptr publish(std::string_view login, std::shared_ptr<PreparedStmt> fresh);
  // An entry no later prepare may be answered from (the server now answers differently).
  void forget(std::string_view login, const PreparedStmt& entry);
  // An id for an entry that is not published (statements on temporary tables).
  uint64_t new_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }
  size_t size() const;

 private:
  struct Shard {
    mutable std::mutex mu;
    std::list<std::string> lru;  // keys, least recently used first
    struct Slot {
      std::shared_ptr<PreparedStmt> entry;
      std::list<std::string>::iterator pos;
    };
    std::unordered_map<std::string, Slot> map;
  };
  static constexpr size_t kShards = 16;
  Shard& shard_of(const std::string& key);
  void trim_locked(Shard& s);

  const size_t max_per_shard_;
  std::atomic<uint64_t> next_id_{1};
  Shard shards_[kShards];
};

// Statements one backend connection has prepared, by PreparedStmt::id.
class BackendStatements {
 public:
  struct Stmt {
    uint32_t backend_id = 0;
    // Parameter types last bound on this connection ("" = none yet): an execution whose
    // client sends no types gets these, or the client's, added when they differ.
    std::string bound_types;
    std::shared_ptr<const ColumnDefs> columns;  // what the server last sent in full
    uint32_t holds = 0;  // an open cursor or pending long data: never closed by the LRU
  };

  // The statement, marked most recently used; nullptr if not prepared here.
  Stmt* find(uint64_t id);
  // Adds a statement just prepared. Returns the backend ids the caller must close with
  // COM_STMT_CLOSE: the least recently used statements beyond `bound` that hold nothing.
  std::vector<uint32_t> add(uint64_t id, Stmt stmt, size_t bound);
  void erase(uint64_t id);
  size_t size() const { return map_.size(); }

 private:
  struct Node {
    Stmt stmt;
    std::list<uint64_t>::iterator pos;
  };
  std::list<uint64_t> lru_;  // least recently used first
  std::unordered_map<uint64_t, Node> map_;
};

}  // namespace sluice
