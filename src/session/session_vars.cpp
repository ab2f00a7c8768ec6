// Session variables and their replay (see session_vars.h).
#include "sluice/session_vars.h"

#include <mysql.h>

#include <algorithm>
#include <cctype>

namespace sluice {
namespace {

bool numeric(std::string_view v) {
  if (v.empty()) return false;
  size_t i = v[0] == '-' ? 1 : 0;
  if (i == v.size()) return false;
  for (; i < v.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(v[i])) && v[i] != '.') return false;
  return true;
}

void append_value(std::string& out, std::string_view v) {
  if (numeric(v)) {
    out.append(v);
    return;
  }
  out.push_back('\'');
  for (char c : v) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
}

}  // namespace

std::string_view tracked_variables() {
  // autocommit is followed through status flags; the character set variables come in
  // the order SET NAMES would set them (collation_connection after its character set).
  return "autocommit,character_set_client,character_set_connection,character_set_results,"
         "collation_connection,time_zone,sql_mode,tx_isolation,tx_read_only,sql_select_limit,"
         "max_statement_time,foreign_key_checks,unique_checks,group_concat_max_len,sql_auto_is_null,"
         "div_precision_increment,lc_time_names,innodb_lock_wait_timeout,lock_wait_timeout,"
         "net_read_timeout,net_write_timeout,wait_timeout,interactive_timeout,max_join_size,"
         "sql_safe_updates,sql_big_selects,join_buffer_size,sort_buffer_size,tmp_table_size,"
         "max_heap_table_size,sql_notes,sql_warnings,default_storage_engine,"
         "default_tmp_storage_engine,sql_quote_show_create,old_mode";
}

void SessionVars::set(std::string_view name, std::string_view value) {
  auto it = std::lower_bound(vars_.begin(), vars_.end(), name,
                             [](const auto& p, std::string_view n) { return p.first < n; });
  if (it != vars_.end() && it->first == name) it->second.assign(value);
  else vars_.emplace(it, std::string(name), std::string(value));
}

const std::string* SessionVars::get(std::string_view name) const {
  auto it = std::lower_bound(vars_.begin(), vars_.end(), name,
                             [](const auto& p, std::string_view n) { return p.first < n; });
  return it != vars_.end() && it->first == name ? &it->second : nullptr;
}

void SessionVars::set_charset(unsigned collation_id) {
  const MARIADB_CHARSET_INFO* cs = mariadb_get_charset_by_nr(collation_id);
  if (cs == nullptr) return;
  set("character_set_client", cs->csname);
  set("character_set_connection", cs->csname);
  set("character_set_results", cs->csname);
  set("collation_connection", cs->name);
}

namespace {

constexpr std::string_view kCharsetVars[] = {"character_set_client", "character_set_connection",
                                             "character_set_results", "collation_connection"};

bool is_charset_var(std::string_view name) {
  for (std::string_view v : kCharsetVars)
    if (v == name) return true;
  return false;
}

bool same(const std::string* a, const std::string* b) { return (a == nullptr) == (b == nullptr) && (!a || *a == *b); }

}  // namespace

// The character set goes first and as SET NAMES, the way a handshake sets it: assigning
// character_set_results alone would give result columns the character set's default
// collation, not the client's (utf8mb4_unicode_ci clients would see utf8mb4_general_ci).
void SessionVars::append_charset_diff(std::string& out, const SessionVars& have) const {
  bool differs = false;
  for (std::string_view v : kCharsetVars) differs |= !same(get(v), have.get(v));
  const std::string* client = get("character_set_client");
  if (!differs || client == nullptr) return;
  const std::string* coll = get("collation_connection");
  const std::string* conn = get("character_set_connection");
  const std::string* results = get("character_set_results");
  bool coll_of_client = coll != nullptr && (coll->rfind(*client + "_", 0) == 0 || *coll == *client);
  out += "NAMES ";
  append_value(out, *client);
  if (coll_of_client && (conn == nullptr || *conn == *client)) {
    out += " COLLATE ";
    append_value(out, *coll);
  }
  if (conn != nullptr && *conn != *client) {
    out += ", character_set_connection=";
    append_value(out, *conn);
    if (coll != nullptr) {
      out += ", collation_connection=";
      append_value(out, *coll);
    }
  }
  if (results != nullptr && *results != *client) {
    out += ", character_set_results=";
    append_value(out, *results);
  }
}

std::string SessionVars::diff_from(const SessionVars& have) const {
  std::string out;
  append_charset_diff(out, have);
  auto add = [&out](std::string_view name) -> std::string& {
    if (!out.empty()) out += ", ";
    out += name;
    out += '=';
    return out;
  };
  // Both lists are sorted: one merge pass, in name order.
  size_t i = 0, j = 0;
  while (i < vars_.size() || j < have.vars_.size()) {
    if (j == have.vars_.size() || (i < vars_.size() && vars_[i].first < have.vars_[j].first)) {
      if (!is_charset_var(vars_[i].first)) append_value(add(vars_[i].first), vars_[i].second);
      ++i;
    } else if (i == vars_.size() || have.vars_[j].first < vars_[i].first) {
      if (!is_charset_var(have.vars_[j].first)) add(have.vars_[j].first) += "DEFAULT";
      ++j;
    } else {
      if (vars_[i].second != have.vars_[j].second && !is_charset_var(vars_[i].first))
        append_value(add(vars_[i].first), vars_[i].second);
      ++i;
      ++j;
    }
  }
  return out;
}

}  // namespace sluice
