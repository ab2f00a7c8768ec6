// Protocol codecs: length-encoded integers at every width boundary, bounds-checked reads,
// packet splitting at 16 MiB, the handshake pair, and the OK / ERR / session-state parsers.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/protocol.h"

namespace proto = sluice::proto;
using proto::Reader;

namespace {

// Copies into an exactly sized heap block so that ASan sees any read past the end.
struct Exact {
  std::unique_ptr<char[]> buf;
  std::string_view view;
  explicit Exact(std::string_view s) : buf(new char[s.size()]) {
    if (!s.empty()) std::memcpy(buf.get(), s.data(), s.size());
    view = std::string_view(buf.get(), s.size());
  }
};

}  // namespace

TEST_CASE("protocol: lenenc integers round-trip at every width boundary") {
  struct Case {
    uint64_t v;
    size_t size;
    int first;  // -1: the value itself
  };
  const Case cases[] = {
      {0, 1, -1},          {250, 1, -1},        {251, 3, 0xfc},        {65535, 3, 0xfc},
      {65536, 4, 0xfd},    {(1u << 24) - 1, 4, 0xfd}, {1u << 24, 9, 0xfe}, {UINT64_MAX, 9, 0xfe},
  };
  for (const Case& c : cases) {
    CAPTURE(c.v);
    std::string s;
    proto::put_lenenc_int(s, c.v);
    CHECK(s.size() == c.size);
    CHECK(static_cast<unsigned char>(s[0]) == (c.first < 0 ? c.v : static_cast<uint64_t>(c.first)));
    Exact e(s);
    Reader r(e.view);
    CHECK(r.lenenc_int() == c.v);
    CHECK(r.ok);
    CHECK(r.remaining() == 0);
    // Every truncation underruns without reading past the end.
    for (size_t k = 0; k < s.size(); ++k) {
      Exact t(std::string_view(s).substr(0, k));
      Reader tr(t.view);
      CHECK(tr.lenenc_int() == 0);
      CHECK_FALSE(tr.ok);
    }
  }
}

TEST_CASE("protocol: lenenc strings, NULL marker and 0xFF are not integers") {
  std::string s;
  proto::put_lenenc_str(s, std::string(300, 'x'));
  CHECK(s.size() == 303);
  Reader r(s);
  CHECK(r.lenenc_str() == std::string(300, 'x'));
  CHECK(r.ok);

  for (const char* bad : {"\xfb", "\xff"}) {
    Reader b{std::string_view(bad, 1)};
    CHECK(b.lenenc_int() == 0);
    CHECK_FALSE(b.ok);
  }
  // A length beyond the data.
  Exact e(std::string("\x05" "abc", 4));
  Reader t(e.view);
  CHECK(t.lenenc_str().empty());
  CHECK_FALSE(t.ok);
}

TEST_CASE("protocol: fixed-width reads check bounds and keep ok false") {
  Exact e(std::string("\x01\x02\x03", 3));
  Reader r(e.view);
  CHECK(r.int4() == 0);
  CHECK_FALSE(r.ok);
  CHECK(r.pos == 0);  // nothing consumed by a failed read

  Reader r2(e.view);
  CHECK(r2.int2() == 0x0201);
  CHECK(r2.int2() == 0);
  CHECK_FALSE(r2.ok);
  CHECK(r2.int1() == 3);  // bounds still hold; ok stays false
  CHECK_FALSE(r2.ok);
  CHECK(r2.int1() == 0);
  CHECK(r2.remaining() == 0);

  Reader r3(e.view);
  CHECK(r3.int3() == 0x030201);
  CHECK(r3.ok);
  CHECK(r3.bytes(1).empty());
  CHECK_FALSE(r3.ok);

  Reader r4(e.view);
  CHECK(r4.bytes(4).empty());
  CHECK_FALSE(r4.ok);
  CHECK(r4.rest() == std::string_view("\x01\x02\x03", 3));

  Exact empty("");
  Reader r5(empty.view);
  CHECK(r5.int1() == 0);
  CHECK(r5.null_str().empty());
  CHECK(r5.rest().empty());
  CHECK_FALSE(r5.ok);
}

TEST_CASE("protocol: null_str stops at NUL, else takes the rest") {
  Exact e(std::string("ab\0cd", 5));
  Reader r(e.view);
  CHECK(r.null_str() == "ab");
  CHECK(r.null_str() == "cd");
  CHECK(r.ok);
  CHECK(r.remaining() == 0);
}

TEST_CASE("protocol: append_packet splits at 0xFFFFFF with consecutive sequence ids") {
  struct Case {
    size_t size;
    std::vector<uint32_t> chunks;
  };
  const uint32_t M = proto::kMaxChunk;
  const Case cases[] = {
      {0, {0}},
      {1, {1}},
      {M - 1, {M - 1}},
      {M, {M, 0}},  // a full chunk must be followed by an empty one
      {size_t{M} + 1, {M, 1}},
      {size_t{M} * 2, {M, M, 0}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.size);
    std::string payload(c.size, '\0');
    for (size_t i = 0; i < payload.size(); i += 997) payload[i] = static_cast<char>(i / 997);
    std::string out = "pre";
    uint8_t next = proto::append_packet(out, 254, payload);
    CHECK(next == static_cast<uint8_t>(254 + c.chunks.size()));
    CHECK(out.size() == 3 + c.size + 4 * c.chunks.size());
    Reader r(std::string_view(out).substr(3));
    std::string joined;
    uint8_t seq = 254;
    for (uint32_t want : c.chunks) {
      CHECK(r.int3() == want);
      CHECK(r.int1() == seq++);  // 254, 255, 0, ...
      joined.append(r.bytes(want));
    }
    CHECK(r.ok);
    CHECK(r.remaining() == 0);
    CHECK((joined == payload));
  }
}

TEST_CASE("protocol: handshake v10 layout") {
  proto::HandshakeV10 h;
  h.server_version = "5.7.99-sluice";
  h.connection_id = 0x01020304;
  h.salt = "ABCDEFGHIJKLMNOPQRST";
  h.capabilities = proto::kProtocol41 | proto::kSecureConnection | proto::kPluginAuth | proto::kSessionTrack;
  h.status = proto::kStatusAutocommit;
  h.auth_plugin = "mysql_native_password";
  std::string p = proto::handshake_payload(h);
  Reader r(p);
  CHECK(r.int1() == 10);
  CHECK(r.null_str() == "5.7.99-sluice");
  CHECK(r.int4() == 0x01020304);
  CHECK(r.bytes(8) == "ABCDEFGH");
  CHECK(r.int1() == 0);
  uint32_t caps = r.int2();
  CHECK(r.int1() == 45);
  CHECK(r.int2() == proto::kStatusAutocommit);
  caps |= uint32_t{r.int2()} << 16;
  CHECK(caps == h.capabilities);
  CHECK(r.int1() == 21);
  CHECK(r.bytes(10) == std::string(10, '\0'));
  CHECK(r.bytes(13) == std::string("IJKLMNOPQRST\0", 13));
  CHECK(r.null_str() == "mysql_native_password");
  CHECK(r.ok);
  CHECK(r.remaining() == 0);
}

namespace {

constexpr uint32_t kClientCaps = proto::kProtocol41 | proto::kSecureConnection | proto::kPluginAuth |
                                 proto::kConnectWithDb | proto::kPluginAuthLenencData;

// A HandshakeResponse41 written by hand, field by field.
std::string client_response(uint32_t caps, std::string_view scramble, bool with_db = true) {
  std::string p;
  proto::put_int4(p, caps);
  proto::put_int4(p, 16u << 20);
  proto::put_int1(p, 33);
  p.append(23, '\0');
  p.append("app");
  p.push_back('\0');
  if (caps & proto::kPluginAuthLenencData) {
    proto::put_lenenc_str(p, scramble);
  } else {
    proto::put_int1(p, static_cast<uint8_t>(scramble.size()));
    p.append(scramble);
  }
  if (with_db) {
    p.append("shop");
    p.push_back('\0');
  }
  p.append("mysql_native_password");
  p.push_back('\0');
  return p;
}

}  // namespace

TEST_CASE("protocol: parse_handshake_response") {
  const std::string scramble("\x01\x00\xfe\xff" "0123456789abcdef", 20);  // NUL and 0xFF inside
  SUBCASE("lenenc auth data, db and plugin") {
    std::string p = client_response(kClientCaps, scramble);
    std::string attrs;
    proto::put_lenenc_int(attrs, 5);
    attrs.append("\x01k\x01v\x00", 5);
    Exact e(p + attrs);  // connection attributes are skipped
    auto h = proto::parse_handshake_response(e.view);
    REQUIRE(h);
    CHECK(h->capabilities == kClientCaps);
    CHECK(h->max_packet == 16u << 20);
    CHECK(h->charset == 33);
    CHECK(h->user == "app");
    CHECK(h->auth_response == scramble);
    CHECK(h->database == "shop");
    CHECK(h->auth_plugin == "mysql_native_password");
  }
  SUBCASE("one-byte auth length (SECURE_CONNECTION without lenenc)") {
    uint32_t caps = kClientCaps & ~proto::kPluginAuthLenencData;
    Exact e(client_response(caps, scramble));
    auto h = proto::parse_handshake_response(e.view);
    REQUIRE(h);
    CHECK(h->auth_response == scramble);
    CHECK(h->database == "shop");
  }
  SUBCASE("no CONNECT_WITH_DB: the next string is the plugin") {
    Exact e(client_response(kClientCaps & ~proto::kConnectWithDb, scramble, false));
    auto h = proto::parse_handshake_response(e.view);
    REQUIRE(h);
    CHECK(h->database.empty());
    CHECK(h->auth_plugin == "mysql_native_password");
  }
  SUBCASE("refusals") {
    std::string full = client_response(kClientCaps, scramble);
    Exact no41(client_response(kClientCaps & ~proto::kProtocol41, scramble));
    CHECK_FALSE(proto::parse_handshake_response(no41.view));
    Exact ssl(std::string_view(full).substr(0, 32));  // an SSL request stops here
    CHECK_FALSE(proto::parse_handshake_response(ssl.view));
    // Every truncation before the end of the auth data (32 fixed bytes, "app\0", 1 + 20).
    for (size_t k = 0; k < 32 + 4 + 1 + scramble.size(); ++k) {
      Exact t(std::string_view(full).substr(0, k));
      CHECK_FALSE(proto::parse_handshake_response(t.view));
    }
  }
}

TEST_CASE("protocol: OK packets with and without session tracking") {
  proto::OkInfo ok;
  ok.affected_rows = 300;
  ok.last_insert_id = 70000;
  ok.status = proto::kStatusAutocommit | proto::kStatusInTrans;
  ok.warnings = 2;
  ok.info = "Rows matched: 1  Changed: 1  Warnings: 0";

  SUBCASE("without CLIENT_SESSION_TRACK: info is the rest of the packet") {
    std::string p = proto::ok_payload(ok, proto::kProtocol41);
    CHECK(p.substr(0, 1) == std::string(1, '\0'));
    auto parsed = proto::parse_ok(p, proto::kProtocol41);
    REQUIRE(parsed);
    CHECK(parsed->ok.affected_rows == 300);
    CHECK(parsed->ok.last_insert_id == 70000);
    CHECK(parsed->ok.status == ok.status);
    CHECK(parsed->ok.warnings == 2);
    CHECK(parsed->ok.info == ok.info);
    CHECK(parsed->session_state.empty());
  }
  SUBCASE("with CLIENT_SESSION_TRACK: lenenc info, then the state block") {
    std::string entry, state;
    proto::put_lenenc_str(entry, "db2");
    proto::put_int1(state, proto::kTrackSchema);
    proto::put_lenenc_str(state, entry);
    std::string p("\x00\x01\x00", 3);
    proto::put_int2(p, proto::kStatusAutocommit | proto::kStatusSessionStateChanged);
    proto::put_int2(p, 0);
    proto::put_lenenc_str(p, ok.info);
    proto::put_lenenc_str(p, state);
    Exact e(p);
    auto parsed = proto::parse_ok(e.view, proto::kSessionTrack);
    REQUIRE(parsed);
    CHECK(parsed->ok.info == ok.info);
    CHECK(parsed->session_state == state);
    auto schema = proto::tracked_schema(parsed->session_state);
    REQUIRE(schema);
    CHECK(*schema == "db2");
    // Truncated state block.
    Exact t(std::string_view(p).substr(0, p.size() - 1));
    CHECK_FALSE(proto::parse_ok(t.view, proto::kSessionTrack));
  }
  SUBCASE("with CLIENT_SESSION_TRACK and nothing after the warnings") {
    ok.info = {};
    std::string p = proto::ok_payload(ok, proto::kSessionTrack);
    CHECK(p.size() == 1 + 3 + 4 + 2 + 2);
    auto parsed = proto::parse_ok(p, proto::kSessionTrack);
    REQUIRE(parsed);
    CHECK(parsed->ok.info.empty());
    CHECK(parsed->session_state.empty());
  }
  SUBCASE("ok_payload drops SESSION_STATE_CHANGED for clients without tracking") {
    ok.status |= proto::kStatusSessionStateChanged;
    const std::string p = proto::ok_payload(ok, 0);
    auto parsed = proto::parse_ok(p, 0);
    REQUIRE(parsed);
    CHECK(parsed->ok.status == (proto::kStatusAutocommit | proto::kStatusInTrans));
  }
  SUBCASE("refusals") {
    CHECK_FALSE(proto::parse_ok(std::string("\x01\x00\x00\x02\x00\x00\x00", 7), 0));
    std::string p = proto::ok_payload(ok, 0);
    for (size_t k = 0; k < 7; ++k) {
      Exact t(std::string_view(p).substr(0, k));
      CHECK_FALSE(proto::parse_ok(t.view, 0));
    }
  }
}

TEST_CASE("protocol: ERR and EOF packets") {
  std::string p = proto::err_payload(1045, "28000", "Access denied for user 'x'");
  CHECK(p.substr(0, 9) == std::string("\xff\x15\x04#28000", 9));
  auto e = proto::parse_err(p);
  REQUIRE(e);
  CHECK(e->code == 1045);
  CHECK(e->sqlstate == "28000");
  CHECK(e->message == "Access denied for user 'x'");

  const std::string short_state = proto::err_payload(1105, "HY", "x");
  auto padded = proto::parse_err(short_state);
  REQUIRE(padded);
  CHECK(padded->sqlstate == "HY000");

  const std::string pre41("\xff\x15\x04" "Bad handshake", 16);
  auto no_state = proto::parse_err(pre41);
  REQUIRE(no_state);
  CHECK(no_state->code == 1045);
  CHECK(no_state->sqlstate == "HY000");
  CHECK(no_state->message == "Bad handshake");

  CHECK_FALSE(proto::parse_err(std::string("\xff\x15", 2)));
  CHECK_FALSE(proto::parse_err(std::string("\x00\x15\x04", 3)));
  CHECK_FALSE(proto::parse_err(""));

  CHECK(proto::eof_payload(3, 0x0022) == std::string("\xfe\x03\x00\x22\x00", 5));
}

TEST_CASE("protocol: tracked_schema") {
  auto entry = [](uint8_t type, std::string_view body) {
    std::string inner, out;
    proto::put_lenenc_str(inner, body);
    proto::put_int1(out, type);
    proto::put_lenenc_str(out, type == proto::kTrackSchema ? std::string_view(inner) : body);
    return out;
  };
  std::string sysvar;
  proto::put_lenenc_str(sysvar, "autocommit");
  proto::put_lenenc_str(sysvar, "OFF");
  std::string vars = entry(proto::kTrackSystemVariables, sysvar);
  std::string change = entry(proto::kTrackStateChange, "1");

  const std::string block = vars + change + entry(proto::kTrackSchema, "shop");
  auto s = proto::tracked_schema(block);
  REQUIRE(s);
  CHECK(*s == "shop");
  CHECK_FALSE(proto::tracked_schema(vars + change));
  CHECK_FALSE(proto::tracked_schema(""));
  std::string full = entry(proto::kTrackSchema, "shop");
  for (size_t k = 0; k < full.size(); ++k) {
    Exact t(std::string_view(full).substr(0, k));
    CHECK_FALSE(proto::tracked_schema(t.view));
  }
}

TEST_CASE("frame_packet / join_payload: logical packets of several chunks") {
  std::string big(proto::kMaxChunk + 10, 'a');
  std::string in;
  proto::append_packet(in, 0, big);
  proto::append_packet(in, 2, "next");
  size_t end = 0;
  CHECK(proto::frame_packet(std::string_view(in).substr(0, 3), 1 << 30, &end) == proto::Framing::kNeedMore);
  CHECK(proto::frame_packet(std::string_view(in).substr(0, proto::kMaxChunk + 8), 1 << 30, &end) ==
        proto::Framing::kNeedMore);
  REQUIRE(proto::frame_packet(in, 1 << 30, &end) == proto::Framing::kReady);
  CHECK(end == big.size() + 8);
  std::string payload;
  proto::join_payload(in, end, payload);
  CHECK(payload == big);
  CHECK(proto::frame_packet(in, 1024, &end) == proto::Framing::kTooBig);
}
