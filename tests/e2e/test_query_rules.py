"""Query rules (ProxySQL's mysql_query_rules) as the client sees them: routing, error_msg,
OK_msg, replace_pattern, timeout, multiplex, username/schemaname filters, flagIN/flagOUT
chains, digest matches. Rules come from the config file here; tests/e2e/test_admin*.py load
them through the admin port."""
from __future__ import annotations

import pymysql
import pytest

import helpers as h
from helpers import DB, PRIMARY_PORT, REPLICA_PORTS


def _rule(rule_id: int, **kw) -> dict:
    r = {"rule_id": rule_id, "active": True, "apply": True}
    r.update(kw)
    return r


def _start(sluice_factory, rules, **tweaks):
    return sluice_factory(h.deep_merge({"query_rules": rules}, tweaks))


def _error(c, sql):
    with pytest.raises(pymysql.err.MySQLError) as ei:
        h.query(c, sql)
    return h.mysql_error(ei.value)


def test_proxysql_read_write_split_rules_route(sluice_factory):
    # ProxySQL's how-to, plus a rule that proves rules beat the built-in split: a plain
    # SELECT of @@hostname goes to the writer because rule 5 says so.
    s = _start(sluice_factory, [
        _rule(5, match_pattern=r"^SELECT @@hostname", destination_hostgroup=10),
        _rule(10, match_pattern=r"^SELECT.*FOR UPDATE$", destination_hostgroup=10),
        _rule(20, match_pattern=r"^SELECT", destination_hostgroup=20),
    ])
    c = h.connect(s.port)
    try:
        assert h.query(c, "SELECT @@hostname, @@port")[0][1] == PRIMARY_PORT
        assert h.scalar(c, "SELECT @@port") in REPLICA_PORTS
        assert h.scalar(c, "SELECT @@port FROM DUAL FOR UPDATE") == PRIMARY_PORT
        # Inside a transaction the statement stays on the transaction's connection.
        h.query(c, "BEGIN")
        assert h.scalar(c, "SELECT @@port") == PRIMARY_PORT
        h.query(c, "COMMIT")
    finally:
        c.close()


def test_error_msg_and_ok_msg_are_answered_by_sluice(sluice_factory):
    s = _start(sluice_factory, [
        _rule(1, match_pattern=r"^DELETE FROM no_deletes", error_msg="deletes are not allowed here"),
        _rule(2, match_pattern=r"^SET sql_log_bin", OK_msg="ignored by the proxy"),
    ])
    c = h.connect(s.port)
    try:
        code, msg = _error(c, "DELETE FROM no_deletes WHERE id = 1")
        assert (code, msg) == (1148, "deletes are not allowed here")
        cur = c.cursor()
        assert cur.execute("SET sql_log_bin = 0") == 0
        assert cur._result.message == b"ignored by the proxy"
        # The session goes on, and the OK did not run on any server: sql_log_bin unchanged.
        assert h.scalar(c, "SELECT @@session.sql_log_bin") == 1
    finally:
        c.close()


def test_replace_pattern_rewrites_the_query(sluice_factory):
    s = _start(sluice_factory, [
        _rule(1, match_pattern=r"^SELECT 'old'", replace_pattern="SELECT 'new'"),
        _rule(2, match_pattern=r"x", replace_pattern="y", re_modifiers="CASELESS,GLOBAL",
              match_digest=r"^SELECT \? AS letters"),
    ])
    c = h.connect(s.port)
    try:
        assert h.scalar(c, "SELECT 'old'") == "new"
        assert h.scalar(c, "SELECT 'xXx' AS letters") == "yyy"  # GLOBAL: every match
        assert h.scalar(c, "SELECT 'xXx' AS other") == "xXx"    # digest did not match
    finally:
        c.close()


def test_timeout_interrupts_the_statement(sluice_factory):
    s = _start(sluice_factory, [_rule(1, match_pattern=r"^SELECT SLEEP", timeout=300)])
    c = h.connect(s.port)
    try:
        code, _ = _error(c, "SELECT SLEEP(3)")
        assert code == 1969  # max_statement_time exceeded
        assert h.scalar(c, "SELECT 1") == 1
    finally:
        c.close()


def test_username_and_schemaname_filters(sluice_factory, make_user):
    other, pw = make_user("e2e_rules_other")
    s = _start(sluice_factory, [
        _rule(1, username=other, match_pattern=r"^SELECT 1", error_msg="not for you"),
        _rule(2, schemaname="information_schema", match_pattern=r"^SELECT 2", error_msg="not here"),
    ], users=[{"username": h.APP_USER, "password": h.APP_PASSWORD},
              {"username": other, "password": pw}])
    app = h.connect(s.port)
    them = h.connect(s.port, user=other, password=pw)
    try:
        assert h.scalar(app, "SELECT 1") == 1
        assert _error(them, "SELECT 1") == (1148, "not for you")
        assert h.scalar(app, "SELECT 2") == 2
        h.query(app, "USE information_schema")
        assert _error(app, "SELECT 2") == (1148, "not here")
        h.query(app, f"USE {DB}")
        assert h.scalar(app, "SELECT 2") == 2
    finally:
        app.close()
        them.close()


def test_flag_in_flag_out_chain(sluice_factory):
    # Rule 1 only marks statements mentioning "chain" (flagOUT 7, no apply); rule 2 acts on
    # the marked ones only; rule 3 (flagIN 0) never sees them.
    s = _start(sluice_factory, [
        _rule(1, match_pattern=r"chain", flagOUT=7, apply=False),
        _rule(2, flagIN=7, match_pattern=r"^SELECT", error_msg="stopped at link 2"),
        _rule(3, match_pattern=r"^SELECT 'chain'", error_msg="rule 3 must not run"),
        _rule(4, match_pattern=r"^SELECT 'plain'", error_msg="plain rule 4"),
    ])
    c = h.connect(s.port)
    try:
        assert _error(c, "SELECT 'chain'") == (1148, "stopped at link 2")
        assert _error(c, "SELECT 'plain'") == (1148, "plain rule 4")
        assert h.scalar(c, "SELECT 'other'") == "other"
    finally:
        c.close()


def test_multiplex_zero_pins_the_session(sluice_factory):
    s = _start(sluice_factory, [_rule(1, match_pattern=r"^SELECT 'pin me'", multiplex=0, apply=False)])
    c = h.connect(s.port)
    try:
        before = h.metric(h.scrape_metrics(s.metrics_port), "sluice_pins_total", reason="query_rule")
        h.query(c, "SELECT 'pin me'")
        first = h.scalar(c, "SELECT CONNECTION_ID()")
        # Pinned: every later statement, reads included, runs on that one connection.
        for _ in range(5):
            assert h.scalar(c, "SELECT CONNECTION_ID()") == first
        after = h.metric(h.scrape_metrics(s.metrics_port), "sluice_pins_total", reason="query_rule")
        assert after == before + 1
    finally:
        c.close()


def test_rule_errors_refuse_to_start(sluice_bin, tmp_path):
    cfg = h.base_sluice_config(1, 2, 3)
    cfg["query_rules"] = [_rule(7, match_pattern="^SELECT (")]
    path = tmp_path / "bad.json"
    path.write_text(__import__("json").dumps(cfg))
    r = h.run([str(sluice_bin), "--check-config", str(path)], check=False)
    assert r.returncode != 0
    assert "query_rules[0].match_pattern: invalid regular expression" in r.stderr


def test_rules_and_digests_apply_to_prepared_statements(sluice_factory):
    # As in ProxySQL, an execute is routed by the rules matching its prepared SQL and
    # counted in stats_mysql_query_digest under that SQL's digest.
    from helpers import StmtClient
    s = _start(sluice_factory, [_rule(1, match_pattern=r"^SELECT @@port AS routed", destination_hostgroup=10)])
    c = StmtClient(s.port)
    a = h.connect(s.admin_port, user="admin", password="admin", database=None)
    try:
        routed = c.prepare("SELECT @@port AS routed")
        plain = c.prepare("SELECT @@port AS plain")
        for _ in range(5):
            assert c.run(routed) == [(PRIMARY_PORT,)]
            assert c.run(plain)[0][0] in REPLICA_PORTS
        counts = dict(h.query(a, "SELECT digest_text, SUM(count_star) FROM stats_mysql_query_digest "
                                 "WHERE digest_text LIKE 'SELECT @@port AS %' GROUP BY digest_text"))
        assert counts == {"SELECT @@port AS routed": 5, "SELECT @@port AS plain": 5}, counts
        assert h.query(a, "SELECT hits FROM stats_mysql_query_rules WHERE rule_id = 1") == ((5,),)
    finally:
        a.close()
        c.close()
