// Config tables <-> config: each table is described column by column (which config key,
// how NULL maps, which ProxySQL columns Sluice does not implement). Config -> rows goes
// through config_to_json(), rows -> config builds the same JSON and hands it to the config
// loader, so the tables are checked by exactly the rules the config file is checked by;
// loader messages are then rewritten to name the table row (describe_config_error).
#include <sqlite3.h>

#include <cctype>
#include <cstring>
#include <regex>

#include "admin_internal.h"

namespace sluice::admin {
namespace {

using ojson = nlohmann::ordered_json;

enum class Kind : uint8_t {
  kInt,          // INT <-> number
  kBool,         // 0/1 <-> false/true
  kText,         // text <-> string
  kNullEmpty,    // NULL <-> "" (ProxySQL's NULL = "any"/"none")
  kOptInt,       // NULL <-> null
  kOptText,      // NULL <-> null
  kOmitIfNull,   // NULL <-> key absent (the loader's default applies)
  kUpper,        // text, upper-cased on the way in (status)
  kLower,        // text, lower-cased on the way in (check_type)
  kUnsupported,  // not implemented by Sluice: must hold `fixed`
};

struct Column {
  const char* name;
  const char* key;  // config JSON key (nullptr for kUnsupported)
  Kind kind;
  const char* fixed = nullptr;  // kUnsupported: "0", "1", "NULL" or "''"
  const char* why = nullptr;
};

struct TableSpec {
  const char* table;
  const char* section;  // config JSON array
  std::vector<Column> columns;
  const char* order_by;
};

const TableSpec kServers{
    "mysql_servers",
    "servers",
    {{"hostgroup_id", "hostgroup", Kind::kInt},
     {"hostname", "host", Kind::kText},
     {"port", "port", Kind::kInt},
     {"gtid_port", nullptr, Kind::kUnsupported, "0", "GTID tracking through a binlog reader is not supported"},
     {"status", "status", Kind::kUpper},
     {"weight", "weight", Kind::kInt},
     {"compression", nullptr, Kind::kUnsupported, "0", "compression to backends is not supported"},
     {"max_connections", "max_connections", Kind::kInt},
     {"max_replication_lag", "max_replication_lag", Kind::kInt},
     {"use_ssl", "use_ssl", Kind::kBool},
     {"max_latency_ms", nullptr, Kind::kUnsupported, "0", "skipping servers by ping latency is not supported"},
     {"comment", "comment", Kind::kText},
     {"max_idle", "max_idle", Kind::kInt},
     {"min_idle", "min_idle", Kind::kInt},
     {"idle_timeout_ms", "idle_timeout_ms", Kind::kInt},
     {"max_lifetime_ms", "max_lifetime_ms", Kind::kInt},
     {"connect_timeout_ms", "connect_timeout_ms", Kind::kInt},
     {"checkout_timeout_ms", "checkout_timeout_ms", Kind::kInt},
     {"max_prepared_statements", "max_prepared_statements", Kind::kInt}},
    "hostgroup_id, hostname, port"};

const TableSpec kReplicationHostgroups{
    "mysql_replication_hostgroups",
    "replication_hostgroups",
    {{"writer_hostgroup", "writer_hostgroup", Kind::kInt},
     {"reader_hostgroup", "reader_hostgroup", Kind::kInt},
     {"check_type", "check_type", Kind::kLower},
     {"comment", "comment", Kind::kText}},
    "writer_hostgroup"};

const TableSpec kUsers{
    "mysql_users",
    "users",
    {{"username", "username", Kind::kText},
     {"password", "password", Kind::kNullEmpty},
     {"active", "active", Kind::kBool},
     {"use_ssl", nullptr, Kind::kUnsupported, "0", "requiring TLS per user is not supported"},
     {"default_hostgroup", "default_hostgroup", Kind::kOptInt},
     {"default_schema", "default_schema", Kind::kNullEmpty},
     {"schema_locked", nullptr, Kind::kUnsupported, "0", "schema_locked is not supported"},
     {"transaction_persistent", "transaction_persistent", Kind::kBool},
     {"fast_forward", nullptr, Kind::kUnsupported, "0", "fast_forward is not supported"},
     {"backend", nullptr, Kind::kUnsupported, "1",
      "backend-only users are not supported (every user logs in to both sides)"},
     {"frontend", nullptr, Kind::kUnsupported, "1",
      "frontend-only users are not supported (every user logs in to both sides)"},
     {"max_connections", "max_connections", Kind::kInt},
     {"attributes", nullptr, Kind::kUnsupported, "''", "user attributes are not supported"},
     {"comment", "comment", Kind::kText},
     {"backend_username", "backend_username", Kind::kOmitIfNull},
     {"backend_password", "backend_password", Kind::kOmitIfNull}},
    "username"};

const TableSpec kQueryRules{
    "mysql_query_rules",
    "query_rules",
    {{"rule_id", "rule_id", Kind::kInt},
     {"active", "active", Kind::kBool},
     {"username", "username", Kind::kNullEmpty},
     {"schemaname", "schemaname", Kind::kNullEmpty},
     {"flagIN", "flagIN", Kind::kInt},
     {"client_addr", "client_addr", Kind::kNullEmpty},
     {"proxy_addr", nullptr, Kind::kUnsupported, "NULL", "matching on the proxy address is not supported"},
     {"proxy_port", nullptr, Kind::kUnsupported, "NULL", "matching on the proxy port is not supported"},
     {"digest", "digest", Kind::kNullEmpty},
     {"match_digest", "match_digest", Kind::kNullEmpty},
     {"match_pattern", "match_pattern", Kind::kNullEmpty},
     {"negate_match_pattern", "negate_match_pattern", Kind::kBool},
     {"re_modifiers", "re_modifiers", Kind::kNullEmpty},
     {"flagOUT", "flagOUT", Kind::kOptInt},
     {"replace_pattern", "replace_pattern", Kind::kOptText},
     {"destination_hostgroup", "destination_hostgroup", Kind::kOptInt},
     {"cache_ttl", nullptr, Kind::kUnsupported, "NULL", "the query cache is not supported"},
     {"cache_empty_result", nullptr, Kind::kUnsupported, "NULL", "the query cache is not supported"},
     {"cache_timeout", nullptr, Kind::kUnsupported, "NULL", "the query cache is not supported"},
     {"reconnect", nullptr, Kind::kUnsupported, "NULL", "reconnect is not supported"},
     {"timeout", "timeout", Kind::kOptInt},
     {"retries", nullptr, Kind::kUnsupported, "NULL", "retries is not supported"},
     {"delay", nullptr, Kind::kUnsupported, "NULL", "delay is not supported"},
     {"next_query_flagIN", nullptr, Kind::kUnsupported, "NULL", "next_query_flagIN is not supported"},
     {"mirror_flagOUT", nullptr, Kind::kUnsupported, "NULL", "mirroring is not supported"},
     {"mirror_hostgroup", nullptr, Kind::kUnsupported, "NULL", "mirroring is not supported"},
     {"error_msg", "error_msg", Kind::kOptText},
     {"OK_msg", "OK_msg", Kind::kOptText},
     {"sticky_conn", nullptr, Kind::kUnsupported, "NULL", "sticky_conn is not supported"},
     {"multiplex", "multiplex", Kind::kOptInt},
     {"gtid_from_hostgroup", nullptr, Kind::kUnsupported, "NULL", "gtid_from_hostgroup is not supported"},
     {"log", nullptr, Kind::kUnsupported, "NULL", "the query log is not supported"},
     {"apply", "apply", Kind::kBool},
     {"attributes", nullptr, Kind::kUnsupported, "''", "rule attributes are not supported"},
     {"comment", "comment", Kind::kNullEmpty}},
    "rule_id"};

std::vector<const TableSpec*> tables_of(Module m) {
  switch (m) {
    case Module::kMysqlServers: return {&kServers, &kReplicationHostgroups};
    case Module::kMysqlUsers: return {&kUsers};
    case Module::kMysqlQueryRules: return {&kQueryRules};
    default: return {};
  }
}

const TableSpec* spec_for_section(std::string_view section) {
  for (const TableSpec* t : {&kServers, &kReplicationHostgroups, &kUsers, &kQueryRules})
    if (section == t->section) return t;
  return nullptr;
}

std::string table_name(const TableSpec& t, Layer layer) {
  return (layer == Layer::kRuntime ? "runtime_" : "") + std::string(t.table);
}

// ---- statements ----

struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      throw AdminError(std::string("internal error preparing \"") + sql + "\": " + sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(s); }
};

void bind_json(sqlite3_stmt* s, int i, const Column& c, const ojson* v) {
  if (c.kind == Kind::kUnsupported) {
    std::string_view f(c.fixed);
    if (f == "NULL") sqlite3_bind_null(s, i);
    else if (f == "''") sqlite3_bind_text(s, i, "", 0, SQLITE_STATIC);
    else sqlite3_bind_int64(s, i, std::stoll(std::string(f)));
    return;
  }
  if (v == nullptr || v->is_null() || (c.kind == Kind::kNullEmpty && v->is_string() && v->get<std::string>().empty())) {
    sqlite3_bind_null(s, i);
  } else if (v->is_boolean()) {
    sqlite3_bind_int64(s, i, v->get<bool>() ? 1 : 0);
  } else if (v->is_number_integer()) {
    sqlite3_bind_int64(s, i, v->get<int64_t>());
  } else {
    std::string text = v->get<std::string>();
    sqlite3_bind_text(s, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
}

void write_table(Database& db, const TableSpec& t, Layer layer, const ojson& root) {
  std::string name = table_name(t, layer);
  db.exec("DELETE FROM main." + name);
  std::string cols, marks;
  for (const Column& c : t.columns) {
    cols += (cols.empty() ? "" : ", ") + std::string(c.name);
    marks += marks.empty() ? "?" : ", ?";
  }
  Stmt ins(db.handle(), "INSERT INTO main." + name + " (" + cols + ") VALUES (" + marks + ")");
  for (const ojson& item : root.at(t.section)) {
    sqlite3_reset(ins.s);
    for (size_t i = 0; i < t.columns.size(); ++i) {
      const Column& c = t.columns[i];
      const ojson* v = c.key != nullptr && item.contains(c.key) ? &item.at(c.key) : nullptr;
      bind_json(ins.s, static_cast<int>(i + 1), c, v);
    }
    if (sqlite3_step(ins.s) != SQLITE_DONE)
      throw AdminError(std::string("cannot fill ") + name + ": " + sqlite3_errmsg(db.handle()));
  }
}

void write_variables(Database& db, Module m, Layer layer, const ojson& root) {
  std::string name = layer == Layer::kRuntime ? "main.runtime_global_variables" : "main.global_variables";
  db.exec("DELETE FROM " + name + " WHERE variable_name LIKE '" + (m == Module::kMysqlVariables ? "mysql" : "admin") +
          "-%'");
  Stmt ins(db.handle(), "INSERT INTO " + name + " (variable_name, variable_value) VALUES (?, ?)");
  for (const auto& v : variable_defs()) {
    if (!variable_in_module(v, m)) continue;
    std::string value = variable_value(root, v);
    sqlite3_reset(ins.s);
    sqlite3_bind_text(ins.s, 1, v.name, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins.s, 2, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(ins.s) != SQLITE_DONE) throw AdminError(std::string("cannot fill ") + name);
  }
}

// ---- rows -> JSON ----

std::string value_text(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t),
                                                    static_cast<size_t>(sqlite3_column_bytes(s, i)));
}

// An integer from an INT column: SQLite keeps '12' typed into an INT column as 12 already;
// anything else left as text or real is refused.
bool column_int(sqlite3_stmt* s, int i, int64_t& out) {
  int type = sqlite3_column_type(s, i);
  if (type == SQLITE_INTEGER) return out = sqlite3_column_int64(s, i), true;
  if (type == SQLITE_FLOAT) {
    double d = sqlite3_column_double(s, i);
    out = static_cast<int64_t>(d);
    return static_cast<double>(out) == d;
  }
  return false;
}

std::string shown(sqlite3_stmt* s, int i) {
  int type = sqlite3_column_type(s, i);
  if (type == SQLITE_NULL) return "NULL";
  if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) return value_text(s, i);
  return "'" + value_text(s, i) + "'";
}

// One column of one row into `item`; returns "" or the problem ("must be 0 or 1 (got 2)").
std::string convert(sqlite3_stmt* s, int i, const Column& c, ojson& item) {
  bool null = sqlite3_column_type(s, i) == SQLITE_NULL;
  int64_t n = 0;
  switch (c.kind) {
    case Kind::kUnsupported: {
      std::string_view f(c.fixed);
      bool ok = f == "NULL"  ? null
                : f == "''" ? (null || value_text(s, i).empty())
                            : (column_int(s, i, n) && std::to_string(n) == f);
      return ok ? "" : std::string(c.why) + " (must be " + c.fixed + ", got " + shown(s, i) + ")";
    }
    case Kind::kInt:
    case Kind::kOptInt:
      if (null) {
        if (c.kind == Kind::kOptInt) return item[c.key] = nullptr, "";
        return "must not be NULL";
      }
      if (!column_int(s, i, n)) return "must be an integer (got " + shown(s, i) + ")";
      item[c.key] = n;
      return "";
    case Kind::kBool:
      if (!column_int(s, i, n) || (n != 0 && n != 1)) return "must be 0 or 1 (got " + shown(s, i) + ")";
      item[c.key] = n == 1;
      return "";
    case Kind::kOptText:
      if (null) return item[c.key] = nullptr, "";
      item[c.key] = value_text(s, i);
      return "";
    case Kind::kOmitIfNull:
      if (!null) item[c.key] = value_text(s, i);
      return "";
    case Kind::kText:
    case Kind::kNullEmpty:
    case Kind::kUpper:
    case Kind::kLower: {
      if (null && c.kind == Kind::kText) return "must not be NULL";
      std::string t = value_text(s, i);
      for (char& ch : t) {
        if (c.kind == Kind::kUpper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (c.kind == Kind::kLower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
      item[c.key] = t;
      return "";
    }
  }
  return "";
}

// The row label from the raw key columns, for errors found before the JSON exists.
std::string raw_label(const TableSpec& t, sqlite3_stmt* s) {
  ojson item;
  for (size_t i = 0; i < t.columns.size() && i < 3; ++i) {
    const Column& c = t.columns[i];
    if (c.key == nullptr) continue;
    int64_t n = 0;
    if (column_int(s, static_cast<int>(i), n)) item[c.key] = n;
    else item[c.key] = value_text(s, static_cast<int>(i));
  }
  ojson root;
  root[t.section] = ojson::array({item});
  return row_label(root, t.section, 0);
}

ojson read_table(Database& db, const TableSpec& t) {
  std::string cols;
  for (const Column& c : t.columns) cols += (cols.empty() ? "" : ", ") + std::string(c.name);
  Stmt q(db.handle(), "SELECT " + cols + " FROM main." + t.table + " ORDER BY " + t.order_by);
  ojson rows = ojson::array();
  int rc = 0;
  while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
    ojson item = ojson::object();
    for (size_t i = 0; i < t.columns.size(); ++i) {
      std::string problem = convert(q.s, static_cast<int>(i), t.columns[i], item);
      if (!problem.empty()) throw AdminError(raw_label(t, q.s) + ": " + t.columns[i].name + ": " + problem);
    }
    rows.push_back(std::move(item));
  }
  if (rc != SQLITE_DONE) throw AdminError(std::string("cannot read ") + t.table + ": " + sqlite3_errmsg(db.handle()));
  return rows;
}

void read_variables(Database& db, Module m, ojson& root) {
  Stmt q(db.handle(), std::string("SELECT variable_name, variable_value FROM main.global_variables WHERE variable_name LIKE '") +
                          (m == Module::kMysqlVariables ? "mysql" : "admin") + "-%' ORDER BY variable_name");
  while (sqlite3_step(q.s) == SQLITE_ROW) {
    std::string name = value_text(q.s, 0);
    const VariableDef* v = find_variable(name);
    if (v == nullptr) throw AdminError("global_variables " + name + ": unknown variable (Sluice does not implement it)");
    set_variable(root, *v, value_text(q.s, 1));
  }
}

// Config key -> column name ("host" -> "hostname") within a table.
std::string column_for_key(const TableSpec& t, std::string_view key) {
  for (const Column& c : t.columns)
    if (c.key != nullptr && key == c.key) return c.name;
  return std::string(key);
}

}  // namespace

std::string row_label(const ojson& root, std::string_view section, size_t index) {
  const TableSpec* t = spec_for_section(section);
  const ojson* item = nullptr;
  auto it = root.find(std::string(section));
  if (it != root.end() && it->is_array() && index < it->size()) item = &(*it)[index];
  auto field = [&](const char* key) -> std::string {
    if (item == nullptr || !item->contains(key)) return "?";
    const ojson& v = item->at(key);
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  if (t == nullptr) return std::string(section) + "[" + std::to_string(index) + "]";
  if (t == &kServers) return "mysql_servers row hostgroup " + field("hostgroup") + " " + field("host") + ":" + field("port");
  if (t == &kUsers) return "mysql_users username '" + field("username") + "'";
  if (t == &kQueryRules) return "mysql_query_rules rule_id " + field("rule_id");
  return "mysql_replication_hostgroups writer_hostgroup " + field("writer_hostgroup");
}

void write_tables(Database& db, Module m, Layer layer, const Config& c) {
  ojson root = ojson::parse(config_to_json(c));
  if (m == Module::kMysqlVariables || m == Module::kAdminVariables) {
    write_variables(db, m, layer, root);
    return;
  }
  for (const TableSpec* t : tables_of(m)) write_table(db, *t, layer, root);
}

Config config_with_tables(Database& db, Module m, const Config& base) {
  ojson root = ojson::parse(config_to_json(base));
  if (m == Module::kMysqlVariables || m == Module::kAdminVariables) read_variables(db, m, root);
  for (const TableSpec* t : tables_of(m)) root[t->section] = read_table(db, *t);
  std::string text = root.dump(2);
  try {
    return load_config_text(text);
  } catch (const ConfigError& e) {
    throw AdminError(describe_config_error(e.what(), text));
  }
}

std::string describe_config_error(std::string_view message, const std::string& config_json) {
  ojson root = ojson::parse(config_json, nullptr, false);
  std::string msg(message);
  // "<section>[<i>]" anywhere -> the row's label; a leading one also maps its key.
  static const std::regex kLead(R"(^(servers|users|query_rules|replication_hostgroups)\[(\d+)\](?:\.(\w+))?: )");
  static const std::regex kItem(R"(\b(servers|users|query_rules|replication_hostgroups)\[(\d+)\])");
  static const std::regex kSection(R"(^(servers|users|query_rules|replication_hostgroups): )");
  std::smatch m;
  std::string head, rest = msg;
  if (std::regex_search(msg, m, kLead)) {
    const TableSpec* t = spec_for_section(m[1].str());
    head = row_label(root, m[1].str(), std::stoul(m[2].str())) + ": " +
           (m[3].matched ? column_for_key(*t, m[3].str()) + ": " : "");
    rest = m.suffix();
  } else if (std::regex_search(msg, m, kSection)) {
    head = std::string(spec_for_section(m[1].str())->table) + ": ";
    rest = m.suffix();
  } else if (size_t colon = msg.find(": "); colon != std::string::npos) {
    if (const VariableDef* v = variable_for_path(std::string_view(msg).substr(0, colon))) {
      head = std::string("global_variables ") + v->name + ": ";
      rest = msg.substr(colon + 2);
    }
  }
  std::string out;
  auto begin = std::sregex_iterator(rest.begin(), rest.end(), kItem);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    out += rest.substr(last, static_cast<size_t>(it->position()) - last);
    out += row_label(root, (*it)[1].str(), std::stoul((*it)[2].str()));
    last = static_cast<size_t>(it->position() + it->length());
  }
  out += rest.substr(last);
  // Config keys quoted in the reason ("routing.writer_hostgroup = 10") -> variable names.
  for (const auto& v : variable_defs()) {
    for (const char* p : v.paths) {
      for (size_t pos = out.find(p); pos != std::string::npos; pos = out.find(p, pos + 1)) {
        size_t end = pos + std::strlen(p);
        bool word_end = end >= out.size() || !(std::isalnum(static_cast<unsigned char>(out[end])) || out[end] == '_');
        bool word_start = pos == 0 || !(std::isalnum(static_cast<unsigned char>(out[pos - 1])) || out[pos - 1] == '_');
        if (word_start && word_end && v.paths.size() == 1) out.replace(pos, end - pos, v.name);
      }
    }
  }
  return head + out;
}

}  // namespace sluice::admin
