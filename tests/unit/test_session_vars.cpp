// SessionVars: the SET that makes a borrowed connection match the client's session.
#include <doctest/doctest.h>

#include "sluice/session_vars.h"

using sluice::SessionVars;

TEST_CASE("session vars: equal sets need no SET") {
  SessionVars a, b;
  a.set_charset(45);
  b.set_charset(45);
  CHECK(a.diff_from(b).empty());
  CHECK(a == b);
}

TEST_CASE("session vars: changed, added and removed variables") {
  SessionVars client, conn;
  client.set("time_zone", "+05:00");
  client.set("sql_select_limit", "10");
  conn.set("sql_select_limit", "20");
  conn.set("wait_timeout", "100");
  // Sorted by name; numbers unquoted; a variable the client never set goes back to DEFAULT.
  CHECK(client.diff_from(conn) == "sql_select_limit=10, time_zone='+05:00', wait_timeout=DEFAULT");
  CHECK(conn.diff_from(client) == "sql_select_limit=20, time_zone=DEFAULT, wait_timeout=100");
}

TEST_CASE("session vars: values are quoted safely") {
  SessionVars client, conn;
  client.set("sql_mode", "it's\\odd");
  CHECK(client.diff_from(conn) == "sql_mode='it\\'s\\\\odd'");
}

TEST_CASE("session vars: the character set is replayed as SET NAMES with the collation") {
  SessionVars client, conn;
  client.set_charset(224);  // utf8mb4_unicode_ci
  conn.set_charset(45);     // utf8mb4_general_ci
  CHECK(client.diff_from(conn) == "NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_ci'");
  SessionVars latin;
  latin.set_charset(8);  // latin1_swedish_ci
  latin.set("time_zone", "UTC");
  CHECK(latin.diff_from(conn) == "NAMES 'latin1' COLLATE 'latin1_swedish_ci', time_zone='UTC'");
}

TEST_CASE("session vars: character sets set one by one") {
  SessionVars client, conn;
  client.set_charset(45);
  conn.set_charset(45);
  client.set("character_set_results", "latin1");
  CHECK(client.diff_from(conn) == "NAMES 'utf8mb4' COLLATE 'utf8mb4_general_ci', character_set_results='latin1'");
}
