// mysql2 execute() (server-side prepared statements, CLIENT_DEPRECATE_EOF) with parameters
// of every common type; prints what the client reads back, as JSON, so the output through
// Sluice can be compared with the output against MariaDB directly.
// usage: node execute.js host port user password database
'use strict';
const mysql = require('mysql2/promise');

function show(v) {
  if (Buffer.isBuffer(v)) return { hex: v.toString('hex') };
  if (v instanceof Date) return { date: v.toISOString() };
  if (typeof v === 'bigint') return { bigint: v.toString() };
  return v;
}

async function main() {
  const [host, port, user, password, database] = process.argv.slice(2);
  const c = await mysql.createConnection({
    host, port: Number(port), user, password, database, timezone: 'Z',
    supportBigNumbers: true, bigNumberStrings: true, dateStrings: false,
  });
  const out = [];
  const params = [42, -9007199254740993n, 3.5, 1e-7, '12345.678', 'héllo ✓', Buffer.from([0, 1, 255, 10]),
                  null, new Date(Date.UTC(2024, 1, 29, 13, 14, 15)), true];
  const sql = 'SELECT ? AS i, ? AS big, ? AS f, ? AS d, CAST(? AS DECIMAL(10,3)) AS dec3, ? AS s, ? AS b, ' +
              '? AS n, ? AS dt, ? AS t';
  // Not compared: JSON columns. Against MariaDB, mysql2 negotiates MariaDB's extended
  // metadata and parses columns marked "json"; Sluice announces a MySQL-style server, so
  // mysql2 returns them as strings there.
  for (let round = 0; round < 3; round++) {  // re-executions reuse the prepared statement
    const [rows] = await c.execute(sql, params);
    out.push(rows.map(r => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, show(v)]))));
  }
  await c.execute('CREATE TEMPORARY TABLE node_t (id INT PRIMARY KEY, v VARCHAR(20), x DOUBLE, ts DATETIME(3))');
  for (let i = 1; i <= 5; i++) {
    const [res] = await c.execute('INSERT INTO node_t VALUES (?, ?, ?, ?)',
                                  [i, 'row' + i, i / 4, new Date(Date.UTC(2020, 0, i, 1, 2, 3, 456))]);
    out.push({ affected: res.affectedRows });
  }
  const [rows] = await c.execute('SELECT * FROM node_t WHERE id > ? ORDER BY id', [2]);
  out.push(rows.map(r => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, show(v)]))));
  try {
    await c.execute('SELECT * FROM no_such_table_node WHERE id = ?', [1]);
  } catch (e) {
    out.push({ error: e.errno, state: e.sqlState, message: e.sqlMessage });
  }
  await c.end();
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}

main().catch(e => { console.error('ERROR', e.errno, e.sqlState, e.message); process.exit(1); });
