/* A small MariaDB Connector/C client for Sluice's e2e tests.
 *
 * usage: sluice_e2e_cclient [-D db] [--no-multi] [--default-auth PLUGIN]
 *                           host port user password [sql ...]
 *
 * Each sql argument is sent as one COM_QUERY (mysql_real_query); with multi-statements on
 * (the default) every result is walked with mysql_next_result. Output on stdout:
 *   STMT <sql>                 before each argument
 *   RS\t<col1>\t<col2>...      a result set starts (column names)
 *   ROW\t<v1>\t<v2>...         one row (NULL printed as \N)
 *   OK <affected_rows>         a result without a result set (e.g. the final OK of a CALL)
 * Two arguments are commands rather than SQL:
 *   \reset                        mysql_reset_connection() (COM_RESET_CONNECTION), prints RESET
 *   \change_user USER PASS [DB]   mysql_change_user() (COM_CHANGE_USER), prints CHANGED
 * On any error: "ERROR <errno> (<sqlstate>): <message>" on stderr and exit status 1.
 */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(MYSQL *m, const char *what) {
  fflush(stdout);
  fprintf(stderr, "ERROR %u (%s): %s\n", mysql_errno(m), mysql_sqlstate(m), mysql_error(m));
  fprintf(stderr, "(during %s)\n", what);
  mysql_close(m);
  return 1;
}

static void print_field(const char *v, unsigned long len) {
  if (!v) {
    fputs("\\N", stdout);
    return;
  }
  fwrite(v, 1, len, stdout);
}

static int print_result(MYSQL *m) {
  if (mysql_field_count(m) == 0) {
    printf("OK %llu\n", (unsigned long long)mysql_affected_rows(m));
    return 0;
  }
  MYSQL_RES *res = mysql_store_result(m);
  if (!res) return -1;
  unsigned n = mysql_num_fields(res);
  MYSQL_FIELD *fields = mysql_fetch_fields(res);
  fputs("RS", stdout);
  for (unsigned i = 0; i < n; i++) printf("\t%s", fields[i].name);
  fputc('\n', stdout);
  MYSQL_ROW row;
  while ((row = mysql_fetch_row(res))) {
    unsigned long *lens = mysql_fetch_lengths(res);
    fputs("ROW", stdout);
    for (unsigned i = 0; i < n; i++) {
      fputc('\t', stdout);
      print_field(row[i], lens[i]);
    }
    fputc('\n', stdout);
  }
  mysql_free_result(res);
  return 0;
}

int main(int argc, char **argv) {
  const char *db = NULL, *auth = NULL;
  int multi = 1;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "-D") == 0 && i + 1 < argc) {
      db = argv[++i];
    } else if (strcmp(argv[i], "--no-multi") == 0) {
      multi = 0;
    } else if (strcmp(argv[i], "--default-auth") == 0 && i + 1 < argc) {
      auth = argv[++i];
    } else {
      fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (argc - i < 4) {
    fprintf(stderr,
            "usage: %s [-D db] [--no-multi] [--default-auth PLUGIN] host port user password [sql ...]\n",
            argv[0]);
    return 2;
  }
  const char *host = argv[i], *user = argv[i + 2], *pass = argv[i + 3];
  unsigned port = (unsigned)atoi(argv[i + 1]);
  i += 4;

  MYSQL *m = mysql_init(NULL);
  unsigned timeout = 30;
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
  mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
  unsigned long max_packet = 1024UL * 1024 * 1024;
  mysql_options(m, MYSQL_OPT_MAX_ALLOWED_PACKET, &max_packet);
  if (auth) mysql_options(m, MYSQL_DEFAULT_AUTH, auth);
  unsigned long flags = multi ? (CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS) : CLIENT_MULTI_RESULTS;
  if (!mysql_real_connect(m, host, user, pass, db, port, NULL, flags)) return fail(m, "connect");

  for (; i < argc; i++) {
    const char *sql = argv[i];
    printf("STMT %s\n", sql);
    if (strcmp(sql, "\\reset") == 0) {
      if (mysql_reset_connection(m)) return fail(m, sql);
      puts("RESET");
      continue;
    }
    if (strncmp(sql, "\\change_user ", 13) == 0) {
      char u[256] = "", p[256] = "", d[256] = "";
      int n = sscanf(sql + 13, "%255s %255s %255s", u, p, d);
      if (n < 2 || mysql_change_user(m, u, p, n == 3 ? d : NULL)) return fail(m, sql);
      puts("CHANGED");
      continue;
    }
    if (mysql_real_query(m, sql, (unsigned long)strlen(sql))) return fail(m, sql);
    for (;;) {
      if (print_result(m)) return fail(m, sql);
      int rc = mysql_next_result(m);
      if (rc == -1) break;      /* no more results */
      if (rc > 0) return fail(m, sql);
    }
  }
  fflush(stdout);
  mysql_close(m);
  return 0;
}
