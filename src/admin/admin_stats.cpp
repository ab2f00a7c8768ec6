// Tables filled when read: before a statement runs, every runtime_* and stats_* table its
// text names is refilled (runtime_* from the running config, stats_* from
// admin_sources.cpp). ProxySQL does the same; it keeps the tables cheap to have and always
// current when looked at.
//
// stats_mysql_connection_pool: ConnUsed/ConnFree/ConnOK/ConnERR/Latency_us are Sluice's
// figures (in use, idle, connects ok/failed, the monitor's last ping); MaxConnUsed,
// Queries, Queries_GTID_sync, Bytes_data_sent and Bytes_data_recv are not tracked per
// server and are 0. The Go database/sql figures follow: MaxConn (max_connections), Waiting,
// WaitCount, WaitTime_us, CheckoutTimeouts and closes by reason.
#include <sqlite3.h>

#include <cstdio>
#include <variant>

#include "admin_internal.h"

namespace sluice::admin {
namespace {

using Value = std::variant<std::nullptr_t, int64_t, std::string>;
using Rows = std::vector<std::vector<Value>>;

void fill(Database& db, const std::string& table, const Rows& rows) {
  db.exec("DELETE FROM " + table);
  if (rows.empty()) return;
  std::string marks;
  for (size_t i = 0; i < rows[0].size(); ++i) marks += i == 0 ? "?" : ", ?";
  sqlite3_stmt* st = nullptr;
  std::string sql = "INSERT INTO " + table + " VALUES (" + marks + ")";
  if (sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
    throw AdminError("cannot fill " + table + ": " + sqlite3_errmsg(db.handle()));
  for (const auto& row : rows) {
    sqlite3_reset(st);
    for (size_t i = 0; i < row.size(); ++i) {
      int col = static_cast<int>(i + 1);
      if (auto* n = std::get_if<int64_t>(&row[i])) sqlite3_bind_int64(st, col, *n);
      else if (auto* s = std::get_if<std::string>(&row[i]))
        sqlite3_bind_text(st, col, s->data(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
      else sqlite3_bind_null(st, col);
    }
    sqlite3_step(st);
  }
  sqlite3_finalize(st);
}

int64_t i64(uint64_t v) { return static_cast<int64_t>(v); }

Rows connection_pool(Runtime& rt) {
  Rows rows;
  for (const PoolRow& p : pool_rows(rt)) {
    const PoolStats& s = p.pool;
    auto closed = [&](CloseReason r) { return i64(s.closed[static_cast<size_t>(r)]); };
    rows.push_back({int64_t{p.hostgroup}, p.host, int64_t{p.port}, p.status, int64_t{s.in_use}, int64_t{s.idle},
                    i64(s.connects_ok), i64(s.connects_failed), int64_t{0}, int64_t{0}, int64_t{0}, int64_t{0},
                    int64_t{0}, p.latency_us, int64_t{s.max_open}, int64_t{s.waiting}, i64(s.wait_count),
                    i64(s.wait_ns / 1000), i64(s.checkout_timeouts), closed(CloseReason::kMaxIdle),
                    closed(CloseReason::kIdleTimeout), closed(CloseReason::kMaxLifetime), closed(CloseReason::kError),
                    closed(CloseReason::kServerDown), closed(CloseReason::kEvicted), closed(CloseReason::kShutdown)});
  }
  return rows;
}

Rows processlist(Runtime& rt) {
  Rows rows;
  for (const ProcessRow& p : process_rows(rt)) {
    std::vector<Value> row{int64_t{p.worker}, int64_t{p.session_id}, p.user, p.db, p.cli_host, int64_t{p.cli_port},
                           nullptr, nullptr, nullptr, nullptr, nullptr, p.command, p.time_ms, nullptr, int64_t{0},
                           nullptr};
    if (p.hostgroup) {
      row[6].emplace<int64_t>(*p.hostgroup);
      row[9].emplace<std::string>(p.srv_host);
      row[10].emplace<int64_t>(p.srv_port);
    }
    if (!p.info.empty()) row[13].emplace<std::string>(p.info);
    rows.push_back(std::move(row));
  }
  return rows;
}

Rows commands_counters(Runtime& rt) {
  Rows rows;
  for (const CommandRow& c : command_rows(rt)) {
    std::vector<Value> row{c.command, i64(c.total_time_us), i64(c.total)};
    for (uint64_t b : c.buckets) row.emplace_back(i64(b));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string hex_digest(uint64_t d) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llX", static_cast<unsigned long long>(d));
  return buf;
}

Rows digests(Runtime& rt, bool reset) {
  Rows rows;
  for (const DigestRow& d : digest_rows(rt, reset)) {
    rows.push_back({int64_t{d.hostgroup}, d.schemaname, d.username, d.client_address, hex_digest(d.digest),
                    d.digest_text, i64(d.count_star), int64_t{d.first_seen}, int64_t{d.last_seen}, i64(d.sum_time),
                    i64(d.min_time), i64(d.max_time), i64(d.sum_rows_affected), i64(d.sum_rows_sent)});
  }
  return rows;
}

Rows monitor_log(Runtime& rt, MonitorCheck kind, bool with_value) {
  Rows rows;
  for (const MonitorLogEntry& e : monitor_rows(rt, kind)) {
    std::vector<Value> row{e.host, int64_t{e.port}, e.time_start_us, e.success_time_us};
    if (with_value) {
      if (e.value) row.emplace_back(*e.value);
      else row.emplace_back(nullptr);
    }
    if (e.error.empty()) row.emplace_back(nullptr);
    else row.emplace_back(e.error);
    rows.push_back(std::move(row));
  }
  return rows;
}

// runtime_mysql_servers shows what runs: the hostgroup each server is in now (the monitor
// moves servers of replication hostgroups by read_only) and its health (SHUNNED, ...).
void runtime_server_state(Database& db, Runtime& rt) {
  std::vector<PoolRow> placed = pool_rows(rt);
  sqlite3_stmt* st = nullptr;
  const char* sql = "UPDATE main.runtime_mysql_servers SET hostgroup_id = ?, status = ? WHERE hostname = ? AND port = ?";
  if (sqlite3_prepare_v2(db.handle(), sql, -1, &st, nullptr) != SQLITE_OK) return;
  for (const PoolRow& p : placed) {
    size_t same = 0;
    for (const PoolRow& q : placed) same += q.host == p.host && q.port == p.port;
    if (same != 1) continue;  // listed in several hostgroups: keep the configured rows
    // The table's CHECK knows ProxySQL's four statuses; lag shunning shows as SHUNNED here
    // (stats_mysql_connection_pool tells SHUNNED_REPLICATION_LAG apart).
    std::string status = p.status == "SHUNNED_REPLICATION_LAG" ? "SHUNNED" : p.status;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, p.hostgroup);
    sqlite3_bind_text(st, 2, status.data(), static_cast<int>(status.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, p.host.data(), static_cast<int>(p.host.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, p.port);
    sqlite3_step(st);
  }
  sqlite3_finalize(st);
}

}  // namespace

void refresh_tables(Database& db, Runtime& rt, std::string_view sql, const Config& running, const std::string& version,
                    int64_t uptime_s) {
  std::string text = lower(sql);
  auto names = [&](const char* table) { return text.find(table) != std::string::npos; };
  if (names("runtime_mysql_servers") || names("runtime_mysql_replication_hostgroups")) {
    write_tables(db, Module::kMysqlServers, Layer::kRuntime, running);
    runtime_server_state(db, rt);
  }
  if (names("runtime_mysql_users")) write_tables(db, Module::kMysqlUsers, Layer::kRuntime, running);
  if (names("runtime_mysql_query_rules")) write_tables(db, Module::kMysqlQueryRules, Layer::kRuntime, running);
  if (names("runtime_global_variables")) {
    write_tables(db, Module::kMysqlVariables, Layer::kRuntime, running);
    write_tables(db, Module::kAdminVariables, Layer::kRuntime, running);
  }
  if (names("stats_mysql_connection_pool")) {
    Rows rows = connection_pool(rt);
    fill(db, "stats.stats_mysql_connection_pool", rows);
    if (names("stats_mysql_connection_pool_reset")) fill(db, "stats.stats_mysql_connection_pool_reset", rows);
  }
  if (names("stats_mysql_processlist")) fill(db, "stats.stats_mysql_processlist", processlist(rt));
  if (names("stats_mysql_commands_counters")) fill(db, "stats.stats_mysql_commands_counters", commands_counters(rt));
  if (names("stats_mysql_global")) {
    Rows rows;
    for (auto& [name, value] : global_status(rt, version, uptime_s)) rows.push_back({name, value});
    fill(db, "stats.stats_mysql_global", rows);
  }
  if (names("stats_mysql_users")) {
    Rows rows;
    for (const UserRow& u : user_rows(rt))
      rows.push_back({u.username, int64_t{u.connections}, int64_t{u.max_connections}});
    fill(db, "stats.stats_mysql_users", rows);
  }
  if (names("stats_mysql_query_digest_reset")) fill(db, "stats.stats_mysql_query_digest_reset", digests(rt, true));
  else if (names("stats_mysql_query_digest")) fill(db, "stats.stats_mysql_query_digest", digests(rt, false));
  if (names("mysql_server_connect_log"))
    fill(db, "monitor.mysql_server_connect_log", monitor_log(rt, MonitorCheck::kConnect, false));
  if (names("mysql_server_ping_log"))
    fill(db, "monitor.mysql_server_ping_log", monitor_log(rt, MonitorCheck::kPing, false));
  if (names("mysql_server_read_only_log"))
    fill(db, "monitor.mysql_server_read_only_log", monitor_log(rt, MonitorCheck::kReadOnly, true));
  if (names("mysql_server_replication_lag_log"))
    fill(db, "monitor.mysql_server_replication_lag_log", monitor_log(rt, MonitorCheck::kReplicationLag, true));
  if (names("stats_mysql_query_rules")) {
    Rows rows;
    for (auto [id, hits] : rule_hits(rt)) rows.push_back({int64_t{id}, i64(hits)});
    fill(db, "stats.stats_mysql_query_rules", rows);
  }
}

}  // namespace sluice::admin
