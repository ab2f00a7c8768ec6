// Response scanner: where each response ends, what state it leaves, that bytes pass through
// unchanged whatever the chunking (16 MiB continuations included), and the OK rewrite for
// clients without CLIENT_SESSION_TRACK.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/protocol.h"
#include "sluice/response.h"

namespace proto = sluice::proto;
using sluice::ResponseScanner;
using Kind = ResponseScanner::Kind;

namespace {

constexpr uint32_t kCaps = proto::kProtocol41 | proto::kSecureConnection | proto::kTransactions |
                           proto::kMultiResults | proto::kPluginAuth;
constexpr uint16_t kAuto = proto::kStatusAutocommit;
constexpr uint16_t kMore = proto::kStatusMoreResults;

// Builds a backend stream packet by packet with running sequence ids.
struct Stream {
  std::string bytes;
  uint8_t seq = 1;
  Stream& packet(std::string_view payload) {
    seq = proto::append_packet(bytes, seq, payload);
    return *this;
  }
  Stream& ok(uint16_t status = kAuto, uint64_t affected = 0, uint64_t insert_id = 0) {
    proto::OkInfo ok;
    ok.affected_rows = affected;
    ok.last_insert_id = insert_id;
    ok.status = status;
    return packet(proto::ok_payload(ok, kCaps));
  }
  Stream& eof(uint16_t status = kAuto) { return packet(proto::eof_payload(0, status)); }
  Stream& column(std::string_view name) {
    std::string p;
    for (std::string_view s : {std::string_view("def"), std::string_view("db"), std::string_view("t"),
                               std::string_view("t"), name, name})
      proto::put_lenenc_str(p, s);
    p += std::string("\x0c\x21\x00\x00\x01\x00\x00\xfd\x00\x00\x00\x00\x00", 13);
    return packet(p);
  }
  Stream& row(std::initializer_list<std::string_view> values) {
    std::string p;
    for (std::string_view v : values) proto::put_lenenc_str(p, v);
    return packet(p);
  }
  // Column count, definitions and their EOF; rows and the final EOF are up to the caller.
  Stream& header(int columns) {
    std::string n;
    proto::put_lenenc_int(n, static_cast<uint64_t>(columns));
    packet(n);
    for (int i = 0; i < columns; ++i) column("c" + std::to_string(i));
    return eof();
  }
  Stream& result_set(uint16_t final_status) {
    header(2).row({"1", "a"}).row({"2", "bb"}).row({"3", ""});
    return eof(final_status);
  }
};

// Everything observable about a finished scan.
struct Outcome {
  std::string out;
  size_t used = 0;
  bool done = false, protocol_error = false, forwarded_any = false, infile = false, has_status = false;
  uint16_t status = 0, error_code = 0;
  std::string error_message;
  uint64_t last_insert_id = 0;
  std::optional<std::string> schema;
  uint8_t next_seq = 0;
  bool operator==(const Outcome&) const = default;
};

Outcome snapshot(const ResponseScanner& sc, std::string out, size_t used) {
  return Outcome{std::move(out), used, sc.done(), sc.protocol_error(), sc.forwarded_any(),
                 sc.infile_requested(), sc.has_status(), sc.status(), sc.error_code(),
                 sc.error_message(), sc.last_insert_id(), sc.schema_change(), sc.next_seq()};
}

struct Setup {
  Kind kind = Kind::kQuery;
  uint32_t backend = kCaps, client = kCaps;
  bool forward = true;
};

// Feeds `in` in pieces whose sizes come from `cut` (0 = rest), stopping when a piece is not
// fully used, as a session does.
template <typename Cut>
Outcome scan(std::string_view in, Setup s, Cut cut) {
  ResponseScanner sc;
  sc.begin(s.kind, s.backend, s.client, s.forward);
  std::string out;
  size_t used = 0;
  while (used < in.size() && !sc.done()) {
    size_t n = std::min(in.size() - used, std::max<size_t>(1, cut()));
    size_t took = sc.feed(in.substr(used, n), out);
    CHECK(took <= n);
    used += took;
    if (took < n) break;
  }
  return snapshot(sc, std::move(out), used);
}

Outcome scan_whole(std::string_view in, Setup s = {}) {
  return scan(in, s, [&] { return in.size(); });
}

// Two pieces: the first `k` bytes, then the rest.
Outcome scan_cut_at(std::string_view in, Setup s, size_t k) {
  bool first = true;
  return scan(in, s, [&] { return std::exchange(first, false) ? k : in.size(); });
}

// The same stream split every way: byte by byte, and random chunkings with a fixed seed.
void check_all_splits(std::string_view in, Setup s = {}, int rounds = 300, size_t max_piece = 64) {
  const Outcome whole = scan_whole(in, s);
  CHECK(scan(in, s, [] { return size_t{1}; }) == whole);
  std::mt19937 rng(7);
  for (int i = 0; i < rounds; ++i) {
    Outcome o = scan(in, s, [&] { return static_cast<size_t>(rng() % max_piece) + 1; });
    CHECK(o == whole);
    if (!(o == whole)) break;
  }
  // Every two-piece split.
  if (in.size() <= 4096) {
    for (size_t k = 1; k < in.size(); ++k) CHECK(scan_cut_at(in, s, k) == whole);
  }
}

}  // namespace

TEST_CASE("response scanner: simple OK") {
  Stream st;
  st.ok(kAuto | proto::kStatusInTrans, 3, 42);
  Outcome o = scan_whole(st.bytes);
  CHECK(o.done);
  CHECK_FALSE(o.protocol_error);
  CHECK(o.out == st.bytes);
  CHECK(o.used == st.bytes.size());
  CHECK(o.has_status);
  CHECK(o.status == (kAuto | proto::kStatusInTrans));
  CHECK(o.last_insert_id == 42);
  CHECK(o.error_code == 0);
  CHECK(o.forwarded_any);
  CHECK(o.next_seq == 2);
  check_all_splits(st.bytes);
}

TEST_CASE("response scanner: ERR exposes code and message") {
  Stream st;
  st.packet(proto::err_payload(1064, "42000", "You have an error in your SQL syntax"));
  Outcome o = scan_whole(st.bytes);
  CHECK(o.done);
  CHECK(o.out == st.bytes);
  CHECK(o.error_code == 1064);
  CHECK(o.error_message == "You have an error in your SQL syntax");
  CHECK_FALSE(o.has_status);
  check_all_splits(st.bytes);
}

TEST_CASE("response scanner: result set of 2 columns and 3 rows ends at its EOF") {
  Stream st;
  st.result_set(kAuto | proto::kStatusInTrans);
  ResponseScanner sc;
  sc.begin(Kind::kQuery, kCaps, kCaps, true);
  std::string out;
  std::string_view all(st.bytes);
  CHECK(sc.feed(all.substr(0, all.size() - 1), out) == all.size() - 1);
  CHECK_FALSE(sc.done());  // the last byte of the EOF is still missing
  CHECK(sc.feed(all.substr(all.size() - 1), out) == 1);
  CHECK(sc.done());
  CHECK_FALSE(sc.protocol_error());
  CHECK(out == st.bytes);
  CHECK(sc.has_status());
  CHECK(sc.status() == (kAuto | proto::kStatusInTrans));
  CHECK(sc.next_seq() == st.seq);
  check_all_splits(st.bytes);
}

TEST_CASE("response scanner: ERR in the middle of rows ends the response") {
  Stream st;
  st.header(2).row({"1", "a"}).packet(proto::err_payload(1317, "70100", "Query execution was interrupted"));
  Outcome o = scan_whole(st.bytes);
  CHECK(o.done);
  CHECK(o.out == st.bytes);
  CHECK(o.error_code == 1317);
  check_all_splits(st.bytes);
}

TEST_CASE("response scanner: multi-results chained by SERVER_MORE_RESULTS_EXISTS") {
  SUBCASE("OK(more), result set, final OK") {
    Stream st;
    st.ok(kAuto | kMore, 1).result_set(kAuto | kMore).ok(kAuto, 0, 7);
    Outcome o = scan_whole(st.bytes);
    CHECK(o.done);
    CHECK(o.out == st.bytes);
    CHECK(o.status == kAuto);
    CHECK(o.last_insert_id == 7);
    check_all_splits(st.bytes);
  }
  SUBCASE("CALL proc() with 2 result sets: rs(EOF more) + rs(EOF more) + OK") {
    Stream first;
    first.result_set(kAuto | kMore);
    Stream st = first;
    st.result_set(kAuto | kMore).ok(kAuto);
    // Not done after the first set: its EOF announces more.
    Outcome partial = scan_whole(first.bytes);
    CHECK_FALSE(partial.done);
    CHECK(partial.used == first.bytes.size());
    Outcome o = scan_whole(st.bytes);
    CHECK(o.done);
    CHECK(o.out == st.bytes);
    CHECK(o.status == kAuto);
    CHECK(o.next_seq == st.seq);
    check_all_splits(st.bytes);
  }
}

TEST_CASE("response scanner: feed stops at the end of the response") {
  Stream st;
  st.ok();
  std::string in = st.bytes + std::string("\x05\x00\x00\x01hello", 9);
  ResponseScanner sc;
  sc.begin(Kind::kQuery, kCaps, kCaps, true);
  std::string out;
  CHECK(sc.feed(in, out) == st.bytes.size());
  CHECK(sc.done());
  CHECK(out == st.bytes);
  // The same after a result set.
  Stream rs;
  rs.result_set(kAuto);
  in = rs.bytes + st.bytes;
  sc.begin(Kind::kQuery, kCaps, kCaps, true);
  out.clear();
  CHECK(sc.feed(in, out) == rs.bytes.size());
  CHECK(out == rs.bytes);
}

TEST_CASE("response scanner: rows starting with 0xFE are rows when 9 bytes or longer") {
  std::string nine("\xfe\x00\x00\x00\x00\x00\x00\x00\x00", 9);  // lenenc 8-byte length 0
  std::string longer("\xfe\x0a\x00\x00\x00\x00\x00\x00\x00" "0123456789", 19);
  Stream st;
  st.header(1).packet(nine).packet(longer);
  Stream prefix = st;
  st.eof(kAuto);
  Outcome p = scan_whole(prefix.bytes);
  CHECK_FALSE(p.done);
  CHECK_FALSE(p.has_status);
  Outcome o = scan_whole(st.bytes);
  CHECK(o.done);
  CHECK(o.out == st.bytes);
  check_all_splits(st.bytes);
}

namespace {

// A row payload of `total` bytes, valid as a row of `*columns` columns, whose continuation
// chunk (at offset 0xFFFFFF) starts with `cont`: bytes that would look like an EOF, OK or
// ERR at a packet start. The first column spans the chunk boundary; when it ends before
// `total`, the rest are empty columns (0x00), so `cont` must end in 0x00 bytes there.
std::string big_row(size_t total, std::string_view cont, int* columns) {
  std::string p;
  size_t col1 = total >= (1u << 24) + 9 ? total - 9 : std::min<size_t>(total - 4, proto::kMaxChunk);
  proto::put_lenenc_int(p, col1);
  const size_t data_from = p.size();
  p.resize(data_from + col1, '\0');
  for (size_t i = data_from; i < p.size(); i += 4093) p[i] = static_cast<char>(0xfe);
  *columns = 1 + static_cast<int>(total - p.size());
  p.resize(total, '\0');
  if (total > proto::kMaxChunk) p.replace(proto::kMaxChunk, cont.size(), cont);
  return p;
}

void check_big(size_t total, std::string_view cont) {
  int columns = 0;
  std::string row = big_row(total, cont, &columns);
  Stream st;
  st.header(columns);
  const size_t cont_hdr = st.bytes.size() + 4 + proto::kMaxChunk;
  st.packet(row);
  std::string after;
  proto::put_lenenc_str(after, "after");
  after.resize(after.size() + static_cast<size_t>(columns - 1), '\0');
  st.packet(after).eof(kAuto);
  row = {};

  Outcome o = scan_whole(st.bytes);
  CHECK(o.done);
  CHECK_FALSE(o.protocol_error);
  CHECK(o.used == st.bytes.size());
  CHECK(o.out.size() == st.bytes.size());
  CHECK((o.out == st.bytes));  // byte-identical (kept out of failure messages: 16 MiB)
  CHECK(o.status == kAuto);
  CHECK(o.next_seq == st.seq);
  // Random pieces, small and large, and cuts around the continuation chunk's header.
  std::mt19937 rng(11);
  for (int i = 0; i < 3; ++i) {
    Outcome r = scan(st.bytes, {}, [&] { return rng() % 2 ? rng() % 16 + 1 : rng() % (4u << 20) + 1; });
    CHECK(r == o);
  }
  for (size_t k = cont_hdr - 2; k <= cont_hdr + 6; ++k) CHECK(scan_cut_at(st.bytes, {}, k) == o);
}

}  // namespace

TEST_CASE("response scanner: 16 MiB rows and continuation chunks pass through byte-identical") {
  SUBCASE("a row of exactly 0xFFFFFF bytes (full chunk + empty chunk)") { check_big(proto::kMaxChunk, {}); }
  SUBCASE("a 20 MiB row whose continuation starts with 0xFE") {
    check_big(20u << 20, std::string("\xfe\x00\x00\x02\x00", 5));
  }
  SUBCASE("continuation chunk shaped like an EOF") {
    check_big(proto::kMaxChunk + 5, std::string("\xfe\x00\x00\x02\x00", 5));
  }
  SUBCASE("continuation chunk shaped like an OK") {
    check_big(proto::kMaxChunk + 7, std::string("\x00\x00\x00\x02\x00\x00\x00", 7));
  }
  SUBCASE("continuation chunk shaped like an ERR") {
    check_big(proto::kMaxChunk + 5, std::string("\xff\x15\x04#\x00", 5));
  }
}

namespace {

constexpr std::string_view kInfo = "Rows matched: 1  Changed: 1  Warnings: 0";

// An UPDATE's OK from a backend with CLIENT_SESSION_TRACK, reporting a switch to `db2`.
std::string tracked_ok_payload(uint16_t extra_status = 0) {
  std::string p("\x00\x01\x00", 3);
  proto::put_int2(p, kAuto | proto::kStatusSessionStateChanged | extra_status);
  proto::put_int2(p, 0);
  proto::put_lenenc_str(p, kInfo);
  std::string entry, state;
  proto::put_lenenc_str(entry, "db2");
  proto::put_int1(state, proto::kTrackSchema);
  proto::put_lenenc_str(state, entry);
  proto::put_lenenc_str(p, state);
  return p;
}

}  // namespace

TEST_CASE("response scanner: OK with session state is rewritten for a client without it") {
  Stream st;
  st.packet(tracked_ok_payload());
  Setup s;
  s.backend = kCaps | proto::kSessionTrack;
  s.client = kCaps;

  std::string want_payload("\x00\x01\x00", 3);
  proto::put_int2(want_payload, kAuto);  // SERVER_SESSION_STATE_CHANGED cleared
  proto::put_int2(want_payload, 0);
  want_payload += kInfo;  // info as a plain string<EOF>, no state block
  std::string want;
  proto::append_packet(want, 1, want_payload);

  Outcome o = scan_whole(st.bytes, s);
  CHECK(o.done);
  CHECK(o.out == want);
  REQUIRE(o.schema.has_value());
  CHECK(*o.schema == "db2");
  CHECK((o.status & kAuto) != 0);
  CHECK(o.next_seq == 2);
  check_all_splits(st.bytes, s);

  SUBCASE("a client with session tracking gets the bytes unchanged") {
    s.client = kCaps | proto::kSessionTrack;
    Outcome t = scan_whole(st.bytes, s);
    CHECK(t.out == st.bytes);
    REQUIRE(t.schema.has_value());
    CHECK(*t.schema == "db2");
  }
  SUBCASE("forward=false emits nothing but still tracks state") {
    s.forward = false;
    Outcome t = scan_whole(st.bytes, s);
    CHECK(t.done);
    CHECK(t.out.empty());
    CHECK_FALSE(t.forwarded_any);
    REQUIRE(t.schema.has_value());
    CHECK(*t.schema == "db2");
    CHECK(t.has_status);
    check_all_splits(st.bytes, s);
  }
  SUBCASE("inside a multi-result response, the MORE_RESULTS flag survives the rewrite") {
    Stream multi;
    multi.packet(tracked_ok_payload(kMore)).result_set(kAuto);
    Outcome t = scan_whole(multi.bytes, s);
    CHECK(t.done);
    REQUIRE(t.out.size() > 7 + 4);
    CHECK(t.out.substr(4, 5) == std::string("\x00\x01\x00\x0a\x00", 5));
    CHECK(t.out.substr(4 + 7, kInfo.size()) == kInfo);
    check_all_splits(multi.bytes, s);
  }
}

TEST_CASE("response scanner: forward=false swallows a result set and keeps its status") {
  Stream st;
  st.result_set(kAuto | proto::kStatusInTrans);
  Setup s;
  s.forward = false;
  Outcome o = scan_whole(st.bytes, s);
  CHECK(o.done);
  CHECK(o.out.empty());
  CHECK_FALSE(o.forwarded_any);
  CHECK(o.status == (kAuto | proto::kStatusInTrans));
}

TEST_CASE("response scanner: COM_FIELD_LIST is column definitions then EOF") {
  Setup s;
  s.kind = Kind::kFieldList;
  Stream st;
  st.column("id").column("name").eof(kAuto);
  Outcome o = scan_whole(st.bytes, s);
  CHECK(o.done);
  CHECK(o.out == st.bytes);
  CHECK(o.status == kAuto);
  check_all_splits(st.bytes, s);

  Stream err;
  err.packet(proto::err_payload(1146, "42S02", "Table 'db.nope' doesn't exist"));
  Outcome e = scan_whole(err.bytes, s);
  CHECK(e.done);
  CHECK(e.error_code == 1146);
  CHECK(e.out == err.bytes);
}

TEST_CASE("response scanner: single-packet replies") {
  Setup s;
  s.kind = Kind::kSingle;
  SUBCASE("EOF (COM_SET_OPTION)") {
    Stream st;
    st.eof(kAuto | proto::kStatusInTrans);
    Outcome o = scan_whole(st.bytes, s);
    CHECK(o.done);
    CHECK(o.out == st.bytes);
    CHECK(o.has_status);
    CHECK(o.status == (kAuto | proto::kStatusInTrans));
    check_all_splits(st.bytes, s);
  }
  SUBCASE("COM_STATISTICS string") {
    Stream st;
    st.packet("Uptime: 1234  Threads: 1  Questions: 56  Slow queries: 0  Opens: 17");
    std::string in = st.bytes + "trailing";
    Outcome o = scan_whole(in, s);
    CHECK(o.done);
    CHECK(o.used == st.bytes.size());
    CHECK(o.out == st.bytes);
    CHECK_FALSE(o.has_status);
    CHECK_FALSE(o.error_code);
    check_all_splits(st.bytes, s);
  }
  SUBCASE("OK (COM_PING)") {
    Stream st;
    st.ok(kAuto);
    Outcome o = scan_whole(st.bytes, s);
    CHECK(o.done);
    CHECK(o.out == st.bytes);
    CHECK(o.has_status);
  }
}

TEST_CASE("response scanner: LOCAL INFILE request, then the server's reply to the data") {
  Stream st;
  st.packet("\xfb/tmp/data.csv");
  ResponseScanner sc;
  sc.begin(Kind::kQuery, kCaps, kCaps | proto::kLocalFiles, true);
  std::string out;
  CHECK(sc.feed(st.bytes, out) == st.bytes.size());
  CHECK(sc.done());
  CHECK(sc.infile_requested());
  CHECK(out == st.bytes);
  CHECK(sc.next_seq() == 2);

  // The client sent its file as packets 2 and 3 (empty); the server answers with seq 4.
  sc.resume_after_infile();
  CHECK_FALSE(sc.done());
  CHECK_FALSE(sc.infile_requested());
  Stream reply;
  reply.seq = 4;
  reply.ok(kAuto, 3);
  out.clear();
  CHECK(sc.feed(reply.bytes, out) == reply.bytes.size());
  CHECK(sc.done());
  CHECK_FALSE(sc.infile_requested());
  CHECK(out == reply.bytes);
  CHECK(sc.has_status());
  CHECK(sc.next_seq() == 5);
}

TEST_CASE("response scanner: a LOCAL INFILE request is not forwarded to a client without local files") {
  Stream st;
  st.packet("\xfb/etc/passwd");
  ResponseScanner sc;
  sc.begin(Kind::kQuery, kCaps, kCaps, true);
  std::string out;
  CHECK(sc.feed(st.bytes, out) == st.bytes.size());
  CHECK(sc.infile_requested());
  CHECK(sc.infile_refused());
  CHECK(out.empty());
  // The session sends an empty file; the server's reply is swallowed too.
  sc.resume_after_infile();
  Stream reply;
  reply.seq = 3;
  reply.ok(kAuto, 0);
  CHECK(sc.feed(reply.bytes, out) == reply.bytes.size());
  CHECK(sc.done());
  CHECK(out.empty());
  CHECK(sc.infile_refused());
}

TEST_CASE("response scanner: protocol errors") {
  SUBCASE("column count 0 (non-minimal lenenc)") {
    Stream st;
    st.packet(std::string("\xfc\x00\x00", 3));
    Outcome o = scan_whole(st.bytes);
    CHECK(o.done);
    CHECK(o.protocol_error);
  }
  SUBCASE("no EOF after the column definitions") {
    Stream st;
    st.packet("\x01").column("a").row({"x"});
    Outcome o = scan_whole(st.bytes);
    CHECK(o.done);
    CHECK(o.protocol_error);
  }
}

// A column-count packet of 0 in its minimal encoding is the single byte 0x00, which is
// also the head of an OK; too short for an OK, it must not pass as a finished reply.
TEST_CASE("response scanner: a column-count packet of 0 (0x00) is a protocol error") {
  Stream st;
  st.packet(std::string("\x00", 1));
  Outcome o = scan_whole(st.bytes);
  CHECK(o.done);
  CHECK(o.protocol_error);
}

TEST_CASE("response scanner: MariaDB extended column metadata is cut out") {
  // name "j", then the extended-metadata block (type "json"), then the fixed fields.
  auto column = [](bool ext) {
    std::string p;
    for (std::string_view s : {"def", "db", "t", "t", "j", "j"}) proto::put_lenenc_str(p, s);
    if (ext) proto::put_lenenc_str(p, std::string("\x00\x04json", 6));
    return p + std::string("\x0c\x21\x00\x00\x01\x00\x00\xfc\x00\x00\x00\x00\x00", 13);
  };
  for (Kind kind : {Kind::kQuery, Kind::kFieldList}) {
    Stream backend, client;
    for (Stream* st : {&backend, &client}) {
      if (kind == Kind::kQuery) st->packet("\x01");
      st->packet(column(st == &backend));
      if (kind == Kind::kQuery) st->eof().row({"{}"});
      st->eof(kAuto);
    }
    ResponseScanner sc;
    sc.begin(kind, kCaps, kCaps, true, true);
    std::string out;
    CHECK(sc.feed(backend.bytes, out) == backend.bytes.size());
    CHECK(sc.done());
    CHECK(out == client.bytes);
  }
}

// A dropped progress report (ERR 0xFFFF) took a sequence id on the backend; the packets
// after it must be renumbered, or a MySQL client library fails with "Packets out of order".
TEST_CASE("response scanner: packets after a dropped progress report keep consecutive ids") {
  // 0xFF, code 0xFFFF, 1 string, stage 1 of 2, progress 10000 (of 100000), "stage one".
  std::string progress("\xff\xff\xff\x01\x01\x02\x10\x27\x00\x09stage one", 19);
  Stream backend, client;
  backend.packet(progress).ok(kAuto, 1);
  client.ok(kAuto, 1);
  Outcome o = scan_whole(backend.bytes);
  CHECK(o.done);
  CHECK_FALSE(o.error_code);
  CHECK(o.out.size() == client.bytes.size());
  CHECK(o.out == client.bytes);  // seq 1, as the client expects
}

TEST_CASE("prepare: swallowed answer still yields counts, warnings and both definition lists") {
  Stream s;
  s.packet(proto::prepare_ok_payload(5, 2, 1, 3));
  s.column("p0").eof();
  s.column("a").column("b").eof();
  ResponseScanner sc;
  sc.begin(Kind::kPrepare, kCaps, kCaps, false);
  std::vector<std::string> params, columns;
  sc.capture_params(&params);
  sc.capture_columns(&columns);
  std::string out;
  CHECK(sc.feed(s.bytes, out) == s.bytes.size());
  CHECK(sc.done());
  CHECK(out.empty());
  CHECK(sc.prepared_id() == 5);
  CHECK(sc.prepared_columns() == 2);
  CHECK(sc.prepared_params() == 1);
  CHECK(sc.prepared_warnings() == 3);
  CHECK(params.size() == 1);
  CHECK(columns.size() == 2);
  CHECK(columns[0].find('a') != std::string::npos);
}
