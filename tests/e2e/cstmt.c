/* Prepared statements through MariaDB Connector/C, for Sluice's e2e tests.
 *
 * usage: sluice_e2e_cstmt host port user password db
 *
 * Runs a fixed script and prints one line per result, so the output through Sluice can be
 * compared with the output against MariaDB directly: parameters of common types (bound
 * as input and read back as output), a statement executed several times (MariaDB skips
 * the metadata of re-executions), long data sent in chunks, a read-only cursor fetched
 * two rows at a time, and statement reset/close. Exit status 1 on any error.
 */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail_stmt(MYSQL_STMT *st, const char *what) {
  fprintf(stderr, "ERROR %u (%s): %s (during %s)\n", mysql_stmt_errno(st), mysql_stmt_sqlstate(st),
          mysql_stmt_error(st), what);
  return 1;
}

static int print_rows(MYSQL_STMT *st, const char *label) {
  MYSQL_RES *meta = mysql_stmt_result_metadata(st);
  unsigned n = meta ? mysql_num_fields(meta) : 0;
  if (meta) mysql_free_result(meta);
  MYSQL_BIND out[8];
  char buf[8][256];
  unsigned long len[8];
  my_bool isnull[8];
  memset(out, 0, sizeof out);
  for (unsigned i = 0; i < n && i < 8; i++) {
    out[i].buffer_type = MYSQL_TYPE_STRING;
    out[i].buffer = buf[i];
    out[i].buffer_length = sizeof buf[i];
    out[i].length = &len[i];
    out[i].is_null = &isnull[i];
  }
  if (n && mysql_stmt_bind_result(st, out)) return fail_stmt(st, "bind_result");
  int rows = 0, rc;
  while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
    printf("%s ROW", label);
    for (unsigned i = 0; i < n; i++) printf("\t%.*s", isnull[i] ? 2 : (int)len[i], isnull[i] ? "\\N" : buf[i]);
    printf("\n");
    rows++;
  }
  if (rc != MYSQL_NO_DATA) return fail_stmt(st, "fetch");
  printf("%s ROWS %d\n", label, rows);
  return 0;
}

static MYSQL_STMT *prepare(MYSQL *m, const char *sql) {
  MYSQL_STMT *st = mysql_stmt_init(m);
  if (mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql))) {
    fail_stmt(st, sql);
    exit(1);
  }
  printf("PREPARED params=%lu fields=%u\n", mysql_stmt_param_count(st), mysql_stmt_field_count(st));
  return st;
}

static int typed_params(MYSQL *m) {
  MYSQL_STMT *st = prepare(m, "SELECT ? + 1, ? * 2, CONCAT(?, '!'), ? IS NULL, ?");
  long long i = 41;
  double d = 1.25;
  char s[] = "h\xc3\xa9llo";
  unsigned long slen = strlen(s);
  MYSQL_TIME t = {2024, 2, 29, 13, 14, 15, 0, 0, MYSQL_TIMESTAMP_DATETIME};
  MYSQL_BIND in[5];
  memset(in, 0, sizeof in);
  in[0].buffer_type = MYSQL_TYPE_LONGLONG, in[0].buffer = &i;
  in[1].buffer_type = MYSQL_TYPE_DOUBLE, in[1].buffer = &d;
  in[2].buffer_type = MYSQL_TYPE_STRING, in[2].buffer = s, in[2].length = &slen;
  in[3].buffer_type = MYSQL_TYPE_NULL;
  in[4].buffer_type = MYSQL_TYPE_DATETIME, in[4].buffer = &t;
  if (mysql_stmt_bind_param(st, in)) return fail_stmt(st, "bind_param");
  for (int round = 0; round < 3; round++) {  /* re-executions: metadata is skipped by MariaDB */
    i += round;
    if (mysql_stmt_execute(st)) return fail_stmt(st, "execute");
    if (print_rows(st, "TYPED")) return 1;
  }
  mysql_stmt_close(st);
  return 0;
}

static int long_data(MYSQL *m) {
  if (mysql_query(m, "CREATE TEMPORARY TABLE cstmt_blob (id INT PRIMARY KEY, b LONGBLOB)")) return 1;
  MYSQL_STMT *st = prepare(m, "INSERT INTO cstmt_blob VALUES (1, ?)");
  MYSQL_BIND in[1];
  memset(in, 0, sizeof in);
  in[0].buffer_type = MYSQL_TYPE_LONG_BLOB;
  if (mysql_stmt_bind_param(st, in)) return fail_stmt(st, "bind_param");
  char chunk[100000];
  for (int c = 0; c < 30; c++) {
    memset(chunk, 'a' + c % 26, sizeof chunk);
    if (mysql_stmt_send_long_data(st, 0, chunk, sizeof chunk)) return fail_stmt(st, "send_long_data");
  }
  if (mysql_stmt_execute(st)) return fail_stmt(st, "execute long data");
  printf("LONGDATA affected=%llu\n", (unsigned long long)mysql_stmt_affected_rows(st));
  mysql_stmt_close(st);
  st = prepare(m, "SELECT LENGTH(b), MD5(b) FROM cstmt_blob WHERE id = 1");
  if (mysql_stmt_execute(st) || print_rows(st, "LONGDATA")) return fail_stmt(st, "select long data");
  mysql_stmt_close(st);
  return 0;
}

static int cursor(MYSQL *m) {
  MYSQL_STMT *st = prepare(m, "SELECT seq, seq * seq FROM seq_1_to_9");
  unsigned long type = CURSOR_TYPE_READ_ONLY, prefetch = 2;
  mysql_stmt_attr_set(st, STMT_ATTR_CURSOR_TYPE, &type);
  mysql_stmt_attr_set(st, STMT_ATTR_PREFETCH_ROWS, &prefetch);
  for (int round = 0; round < 2; round++) {
    if (mysql_stmt_execute(st)) return fail_stmt(st, "execute cursor");
    if (print_rows(st, "CURSOR")) return 1;
  }
  if (mysql_stmt_reset(st)) return fail_stmt(st, "reset");
  printf("RESET ok\n");
  mysql_stmt_close(st);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s host port user password db\n", argv[0]);
    return 2;
  }
  MYSQL *m = mysql_init(NULL);
  unsigned timeout = 30;
  mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
  if (!mysql_real_connect(m, argv[1], argv[3], argv[4], argv[5], (unsigned)atoi(argv[2]), NULL, 0)) {
    fprintf(stderr, "ERROR %u: %s (during connect)\n", mysql_errno(m), mysql_error(m));
    return 1;
  }
  int rc = typed_params(m) || long_data(m) || cursor(m);
  mysql_close(m);
  return rc;
}
