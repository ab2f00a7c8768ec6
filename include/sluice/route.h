// Routing decisions: read or write for a statement, and which server of a hostgroup.
//
// Owns: the policy that turns a Classification plus the session's state into a target,
// and weighted server choice among healthy servers.
// Thread rules: pure functions, except pick_server's thread-local random state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/classifier.h"

namespace sluice {

struct Server;
struct Hostgroup;

struct SessionView {
  bool autocommit = true;
  bool in_txn = false;
  bool pinned = false;
};

struct RouteDecision {
  bool read = false;  // may run on a reader
  bool pin = false;   // the statement leaves state only its connection has
};

RouteDecision decide_route(const Classification& c, SessionView s);

// "db.proc" for `CALL [db.]proc(...)`, with `schema` when unqualified (error messages).
std::string called_procedure(std::string_view sql, const std::string& schema);

// Weighted random choice among usable servers not in `exclude` whose replication lag is
// within their max_replication_lag; nullptr if none.
// `min_seq` (kGtidDomains entries, or nullptr) also requires a server to have applied those
// GTID sequence numbers per domain (read-your-writes).
Server* pick_server(const Hostgroup& hg, int64_t now_ms, const std::vector<Server*>& exclude,
                    const uint64_t* min_seq = nullptr);
// True if `s` has applied every domain's sequence number in min_seq (kGtidDomains entries).
bool has_applied(const Server& s, const uint64_t* min_seq);
// Any ONLINE server not in `exclude`, even if marked down or shunned for failures (last
// resort); never a removed, offline or lagging one.
Server* any_server(const Hostgroup& hg, const std::vector<Server*>& exclude);

}  // namespace sluice
