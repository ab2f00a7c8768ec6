// What an admin statement is before SQLite sees it: LOAD/SAVE between the layers, the SET
// and USE statements clients send, MySQL's SHOW forms (rewritten to SELECTs over SQLite's
// catalog or the admin tables) and `@@var` (rewritten to sluice_sysvar('var')). Everything
// else is SQLite's SQL, unchanged.
#include <cctype>

#include "admin_internal.h"
#include "sluice/sql_lexer.h"

namespace sluice::admin {
namespace {

std::vector<Token> tokens(std::string_view text, size_t max = 64) {
  std::vector<Token> out;
  SqlLexer lex(text);
  for (Token t = lex.next(); t.kind != TokenKind::End && out.size() < max; t = lex.next()) out.push_back(t);
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Words of `toks` from `from` on, upper-cased, space-separated ("MYSQL QUERY RULES TO RUNTIME").
std::string word_string(const std::vector<Token>& toks, size_t from) {
  std::string s;
  for (size_t i = from; i < toks.size(); ++i) s += (s.empty() ? "" : " ") + upper(toks[i].text);
  return s;
}

std::string unquote(std::string_view t) {
  if (t.size() >= 2 && (t[0] == '`' || t[0] == '\'' || t[0] == '"') && t.back() == t[0]) {
    std::string out;
    char q = t[0];
    for (size_t i = 1; i + 1 < t.size(); ++i) {
      if (t[i] == q && i + 2 < t.size() && t[i + 1] == q) ++i;
      else if (t[i] == '\\' && q != '`' && i + 2 < t.size()) ++i;
      out += t[i];
    }
    return out;
  }
  return std::string(t);
}

bool plain_identifier(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

Statement sql(std::string text) {
  Statement st;
  st.kind = Statement::kSql;
  st.sql = std::move(text);
  return st;
}

Statement refuse(std::string why) {
  Statement st;
  st.kind = Statement::kError;
  st.error = std::move(why);
  return st;
}

std::string describe_sql(const std::string& schema, const std::string& table) {
  return "SELECT name AS Field, type AS Type, CASE WHEN \"notnull\" THEN 'NO' ELSE 'YES' END AS \"Null\", "
         "CASE WHEN pk > 0 THEN 'PRI' ELSE '' END AS \"Key\", dflt_value AS \"Default\", '' AS Extra "
         "FROM pragma_table_info(" + quote_sql(table) + ", " + quote_sql(schema) + ")";
}

// [db.]name at toks[i...]; advances i.
bool table_ref(const std::vector<Token>& toks, size_t& i, std::string& schema, std::string& name) {
  if (i >= toks.size()) return false;
  name = unquote(toks[i++].text);
  if (i + 1 < toks.size() && toks[i].is_punct('.')) {
    schema = name;
    name = unquote(toks[i + 1].text);
    i += 2;
  }
  return plain_identifier(schema) && !name.empty();
}

// LIKE 'pattern' at toks[i], as an SQL condition on `column` ("" if absent).
std::string like_clause(const std::vector<Token>& toks, size_t i, const char* column) {
  if (i + 1 < toks.size() && toks[i].is_word("LIKE")) return std::string(" AND ") + column + " LIKE " + quote_sql(unquote(toks[i + 1].text));
  return {};
}

Statement show(const std::vector<Token>& toks, std::string_view schema_now) {
  size_t i = 1;
  auto is = [&](std::string_view w) { return i < toks.size() && toks[i].is_word(w); };
  if (is("DATABASES") || is("SCHEMAS")) return sql("SELECT seq, name, file FROM pragma_database_list");
  bool full = is("FULL");
  if (full) ++i;
  bool scoped = is("GLOBAL") || is("SESSION") || is("LOCAL");
  if (scoped) ++i;
  if (!scoped && is("TABLES")) {
    ++i;
    std::string schema(schema_now);
    if ((is("FROM") || is("IN")) && i + 1 < toks.size()) {
      schema = unquote(toks[i + 1].text);
      i += 2;
    }
    if (!plain_identifier(schema)) return refuse("Unknown database '" + schema + "'");
    return sql("SELECT name AS tables FROM " + schema + ".sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'" +
               like_clause(toks, i, "name") + " ORDER BY name");
  }
  if (!full && !scoped && is("CREATE") && i + 1 < toks.size() && toks[i + 1].is_word("TABLE")) {
    i += 2;
    std::string schema(schema_now), name;
    if (!table_ref(toks, i, schema, name)) return refuse("SHOW CREATE TABLE needs a table name");
    Statement st = sql("SELECT name AS \"table\", sql AS \"Create Table\" FROM " + schema +
                       ".sqlite_master WHERE type='table' AND name=" + quote_sql(name));
    st.name = name;  // the executor turns an empty result into "no such table"
    return st;
  }
  if (is("VARIABLES"))
    return sql("SELECT variable_name AS Variable_name, variable_value AS Value FROM main.global_variables WHERE 1" +
               like_clause(toks, i + 1, "variable_name") + " ORDER BY variable_name");
  if (is("STATUS"))
    return sql("SELECT Variable_Name AS Variable_name, Variable_Value AS Value FROM stats.stats_mysql_global WHERE 1" +
               like_clause(toks, i + 1, "Variable_Name") + " ORDER BY Variable_Name");
  if (is("WARNINGS") || is("ERRORS")) return sql("SELECT '' AS Level, 0 AS Code, '' AS Message WHERE 0");
  if (is("PROCESSLIST"))
    return sql("SELECT SessionID AS Id, user AS User, cli_host AS Host, db, command AS Command, time_ms / 1000 AS Time, "
               "'' AS State, info AS Info FROM stats.stats_mysql_processlist ORDER BY SessionID");
  if ((is("COLUMNS") || is("FIELDS")) && i + 1 < toks.size() && (toks[i + 1].is_word("FROM") || toks[i + 1].is_word("IN"))) {
    i += 2;
    std::string schema(schema_now), name;
    if (!table_ref(toks, i, schema, name)) return refuse("SHOW COLUMNS needs a table name");
    return sql(describe_sql(schema, name));
  }
  return refuse("unsupported SHOW statement (the admin port knows SHOW DATABASES, TABLES, CREATE TABLE, "
                "VARIABLES, STATUS, PROCESSLIST, COLUMNS, WARNINGS)");
}

// SET mysql-x = v / SET admin-x = v (ProxySQL's shortcut for UPDATE global_variables).
bool set_variable_statement(std::string_view text, Statement& st) {
  std::string_view rest = trim(text.substr(3));
  std::string head = lower(rest.substr(0, 6));
  if (head != "mysql-" && head != "admin-") return false;
  size_t eq = rest.find('=');
  if (eq == std::string_view::npos) {
    st = refuse("SET " + std::string(rest) + ": expected SET <variable> = <value>");
    return true;
  }
  st.kind = Statement::kSetVariable;
  st.name = lower(trim(rest.substr(0, eq)));
  st.value = unquote(trim(rest.substr(eq + 1)));
  return true;
}

// `@@[session.|global.|local.]name` -> sluice_sysvar('name'); the original spelling is kept
// in `renames` so that result columns are named as the client wrote them.
Statement rewrite_sysvars(std::string_view text) {
  Statement st = sql({});
  SqlLexer lex(text);
  size_t copied = 0;
  for (Token t = lex.next(); t.kind != TokenKind::End; t = lex.next()) {
    if (t.kind != TokenKind::SysVar) continue;
    size_t at = static_cast<size_t>(t.text.data() - text.data());
    std::string name = lower(t.text.substr(2));
    for (const char* scope : {"session.", "global.", "local."})
      if (name.starts_with(scope)) name = name.substr(std::string_view(scope).size());
    std::string call = "sluice_sysvar(" + quote_sql(unquote(name)) + ")";
    st.sql.append(text.substr(copied, at - copied));
    st.sql += call;
    st.renames.emplace_back(call, std::string(t.text));
    copied = at + t.text.size();
  }
  st.sql.append(text.substr(copied));
  return st;
}

}  // namespace

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.front())) || s.front() == ';')) s.remove_prefix(1);
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.back())) || s.back() == ';')) s.remove_suffix(1);
  return s;
}

std::string quote_sql(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

const char* module_name(Module m) {
  switch (m) {
    case Module::kMysqlServers: return "MYSQL SERVERS";
    case Module::kMysqlUsers: return "MYSQL USERS";
    case Module::kMysqlQueryRules: return "MYSQL QUERY RULES";
    case Module::kMysqlVariables: return "MYSQL VARIABLES";
    case Module::kAdminVariables: return "ADMIN VARIABLES";
  }
  return "?";
}

std::optional<LayerCommand> parse_layer_command(std::string_view text) {
  std::vector<Token> toks = tokens(trim(text));
  if (toks.empty() || !(toks[0].is_word("LOAD") || toks[0].is_word("SAVE"))) return std::nullopt;
  for (const Token& t : toks)
    if (t.kind != TokenKind::Word) return std::nullopt;
  bool load = toks[0].is_word("LOAD");
  std::string words = word_string(toks, 1);
  for (Module m : {Module::kMysqlServers, Module::kMysqlUsers, Module::kMysqlQueryRules, Module::kMysqlVariables,
                   Module::kAdminVariables}) {
    std::string name = module_name(m);
    if (!words.starts_with(name + " ")) continue;
    std::string dir = words.substr(name.size() + 1);
    auto any = [&](std::initializer_list<const char*> forms) {
      for (const char* f : forms)
        if (dir == f) return true;
      return false;
    };
    if (load && any({"TO RUNTIME", "TO RUN", "FROM MEMORY", "FROM MEM"})) return LayerCommand{m, Move::kMemoryToRuntime};
    if (load && any({"FROM DISK", "TO MEMORY", "TO MEM", "FROM CONFIG"})) return LayerCommand{m, Move::kDiskToMemory};
    if (!load && any({"TO DISK", "FROM MEMORY", "FROM MEM"})) return LayerCommand{m, Move::kMemoryToDisk};
    if (!load && any({"TO MEMORY", "TO MEM", "FROM RUNTIME", "FROM RUN"})) return LayerCommand{m, Move::kRuntimeToMemory};
  }
  return std::nullopt;
}

std::vector<std::string_view> split_statements(std::string_view text) {
  std::vector<std::string_view> out;
  SqlLexer lex(text);
  size_t start = 0;
  for (Token t = lex.next(); t.kind != TokenKind::End; t = lex.next()) {
    if (!t.is_punct(';')) continue;
    size_t at = static_cast<size_t>(t.text.data() - text.data());
    out.push_back(text.substr(start, at - start));
    start = at + 1;
  }
  if (!trim(text.substr(start)).empty() || out.empty()) out.push_back(text.substr(start));
  return out;
}

Statement parse_statement(std::string_view text, std::string_view schema) {
  text = trim(text);
  std::vector<Token> toks = tokens(text, 16);
  Statement st;
  if (toks.empty()) {
    st.kind = Statement::kEmpty;
    return st;
  }
  const Token& first = toks[0];
  if (first.is_word("LOAD") || first.is_word("SAVE")) {
    if (auto cmd = parse_layer_command(text)) {
      st.kind = Statement::kLayer;
      st.layer = *cmd;
      return st;
    }
    return refuse("unknown command: " + std::string(text) +
                  " (expected LOAD|SAVE MYSQL SERVERS|MYSQL USERS|MYSQL QUERY RULES|MYSQL VARIABLES|ADMIN VARIABLES "
                  "TO RUNTIME|FROM MEMORY|FROM DISK|TO MEMORY|TO DISK|FROM RUNTIME)");
  }
  if (first.is_word("SET")) {
    if (set_variable_statement(text, st)) return st;
    st.kind = Statement::kIgnoredSet;
    return st;
  }
  if (first.is_word("USE") && toks.size() >= 2) {
    st.kind = Statement::kUse;
    st.name = unquote(toks[1].text);
    return st;
  }
  if (first.is_word("SHOW")) return show(toks, schema);
  if ((first.is_word("DESCRIBE") || first.is_word("DESC")) && toks.size() >= 2) {
    size_t i = 1;
    std::string db(schema), name;
    if (!table_ref(toks, i, db, name)) return refuse("DESCRIBE needs a table name");
    return sql(describe_sql(db, name));
  }
  if (first.is_word("START") && toks.size() >= 2 && toks[1].is_word("TRANSACTION")) return sql("BEGIN");
  return rewrite_sysvars(text);
}

}  // namespace sluice::admin
