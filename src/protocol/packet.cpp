// Primitive codecs and the handful of packets Sluice builds or parses (see protocol.h).
#include "sluice/protocol.h"

#include <algorithm>

namespace sluice::proto {

void put_int1(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }

void put_int2(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}

void put_int3(std::string& out, uint32_t v) {
  for (int i = 0; i < 3; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_int4(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_lenenc_int(std::string& out, uint64_t v) {
  if (v < 251) {
    put_int1(out, static_cast<uint8_t>(v));
  } else if (v < (1u << 16)) {
    put_int1(out, 0xfc);
    put_int2(out, static_cast<uint16_t>(v));
  } else if (v < (1u << 24)) {
    put_int1(out, 0xfd);
    put_int3(out, static_cast<uint32_t>(v));
  } else {
    put_int1(out, 0xfe);
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

void put_lenenc_str(std::string& out, std::string_view s) {
  put_lenenc_int(out, s.size());
  out.append(s);
}

uint8_t Reader::int1() {
  if (remaining() < 1) return ok = false, 0;
  return static_cast<uint8_t>(data[pos++]);
}

uint16_t Reader::int2() {
  if (remaining() < 2) return ok = false, 0;
  uint16_t v = static_cast<uint8_t>(data[pos]) | (static_cast<uint8_t>(data[pos + 1]) << 8);
  pos += 2;
  return v;
}

uint32_t Reader::int3() {
  if (remaining() < 3) return ok = false, 0;
  uint32_t v = 0;
  for (int i = 0; i < 3; ++i) v |= uint32_t(static_cast<uint8_t>(data[pos + i])) << (8 * i);
  pos += 3;
  return v;
}

uint32_t Reader::int4() {
  if (remaining() < 4) return ok = false, 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(static_cast<uint8_t>(data[pos + i])) << (8 * i);
  pos += 4;
  return v;
}

uint64_t Reader::lenenc_int() {
  uint8_t first = int1();
  if (!ok) return 0;
  if (first < 0xfb) return first;
  if (first == 0xfc) return int2();
  if (first == 0xfd) return int3();
  if (first == 0xfe) {
    if (remaining() < 8) return ok = false, 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(static_cast<uint8_t>(data[pos + i])) << (8 * i);
    pos += 8;
    return v;
  }
  ok = false;  // 0xfb (NULL) and 0xff are not integers
  return 0;
}

std::string_view Reader::bytes(size_t n) {
  if (remaining() < n) {
    ok = false;
    return {};
  }
  auto s = data.substr(pos, n);
  pos += n;
  return s;
}

std::string_view Reader::lenenc_str() {
  uint64_t n = lenenc_int();
  if (!ok) return {};
  return bytes(static_cast<size_t>(n));
}

std::string_view Reader::null_str() {
  if (pos > data.size()) return ok = false, std::string_view{};
  size_t end = data.find('\0', pos);
  if (end == std::string_view::npos) return rest();
  auto s = data.substr(pos, end - pos);
  pos = end + 1;
  return s;
}

std::string_view Reader::rest() {
  auto s = pos <= data.size() ? data.substr(pos) : std::string_view{};
  pos = data.size();
  return s;
}

uint8_t append_packet(std::string& out, uint8_t seq, std::string_view payload) {
  size_t off = 0;
  while (true) {
    size_t n = std::min<size_t>(payload.size() - off, kMaxChunk);
    put_int3(out, static_cast<uint32_t>(n));
    put_int1(out, seq++);
    out.append(payload.substr(off, n));
    off += n;
    if (n < kMaxChunk) return seq;  // a full chunk must be followed by another (maybe empty)
  }
}

namespace {
uint32_t chunk_len(std::string_view in, size_t at) {
  auto* h = reinterpret_cast<const unsigned char*>(in.data() + at);
  return h[0] | (h[1] << 8) | (h[2] << 16);
}
}  // namespace

Framing frame_packet(std::string_view in, size_t max_bytes, size_t* end) {
  size_t e = 0;
  while (true) {
    if (in.size() < e + 4) return Framing::kNeedMore;
    uint32_t len = chunk_len(in, e);
    e += 4 + len;
    if (e > max_bytes) return Framing::kTooBig;
    if (in.size() < e) return Framing::kNeedMore;
    if (len < kMaxChunk) break;
  }
  *end = e;
  return Framing::kReady;
}

void join_payload(std::string_view in, size_t end, std::string& payload) {
  payload.clear();
  payload.reserve(end);
  for (size_t pos = 0; pos < end;) {
    uint32_t len = chunk_len(in, pos);
    payload.append(in.substr(pos + 4, len));
    pos += 4 + len;
  }
}

std::string ok_payload(const OkInfo& ok, uint32_t client_caps) {
  std::string p;
  put_int1(p, 0x00);
  put_lenenc_int(p, ok.affected_rows);
  put_lenenc_int(p, ok.last_insert_id);
  uint16_t status = ok.status;
  if (!(client_caps & kSessionTrack)) status &= ~kStatusSessionStateChanged;
  put_int2(p, status);
  put_int2(p, ok.warnings);
  if (client_caps & kSessionTrack) {
    if (!ok.info.empty()) put_lenenc_str(p, ok.info);
  } else {
    p.append(ok.info);
  }
  return p;
}

std::string err_payload(uint16_t code, std::string_view sqlstate, std::string_view message) {
  std::string p;
  put_int1(p, 0xff);
  put_int2(p, code);
  p.push_back('#');
  std::string state(sqlstate.substr(0, 5));
  state.resize(5, '0');
  p.append(state);
  p.append(message);
  return p;
}

std::string eof_payload(uint16_t warnings, uint16_t status) {
  std::string p;
  put_int1(p, 0xfe);
  put_int2(p, warnings);
  put_int2(p, status);
  return p;
}

std::string eof_payload(uint16_t warnings, uint16_t status, uint32_t client_caps) {
  if (!(client_caps & kDeprecateEof)) return eof_payload(warnings, status);
  OkInfo ok;
  ok.status = status;
  ok.warnings = warnings;
  std::string p = ok_payload(ok, client_caps);
  p[0] = static_cast<char>(0xfe);
  return p;
}

std::string handshake_payload(const HandshakeV10& h) {
  std::string p;
  put_int1(p, 10);
  p.append(h.server_version);
  p.push_back('\0');
  put_int4(p, h.connection_id);
  p.append(h.salt.substr(0, 8));
  p.push_back('\0');
  put_int2(p, static_cast<uint16_t>(h.capabilities & 0xffff));
  put_int1(p, h.charset);
  put_int2(p, h.status);
  put_int2(p, static_cast<uint16_t>(h.capabilities >> 16));
  put_int1(p, static_cast<uint8_t>(h.salt.size() + 1));
  p.append(10, '\0');  // reserved (MariaDB puts extended capabilities in the last 4)
  p.append(h.salt.substr(8));
  p.push_back('\0');
  p.append(h.auth_plugin);
  p.push_back('\0');
  return p;
}

std::optional<HandshakeResponse> parse_handshake_response(std::string_view payload) {
  Reader r(payload);
  HandshakeResponse h;
  h.capabilities = r.int4();
  if (!r.ok || !(h.capabilities & kProtocol41)) return std::nullopt;
  h.max_packet = r.int4();
  h.charset = r.int1();
  r.bytes(23);
  if (!r.ok) return std::nullopt;
  // SSL request packets stop here; Sluice does not announce TLS yet.
  if (r.remaining() == 0) return std::nullopt;
  h.user = std::string(r.null_str());
  if (h.capabilities & kPluginAuthLenencData) {
    h.auth_response = std::string(r.lenenc_str());
  } else if (h.capabilities & kSecureConnection) {
    uint8_t n = r.int1();
    h.auth_response = std::string(r.bytes(n));
  } else {
    h.auth_response = std::string(r.null_str());
  }
  if (!r.ok) return std::nullopt;
  if ((h.capabilities & kConnectWithDb) && r.remaining() > 0) h.database = std::string(r.null_str());
  if ((h.capabilities & kPluginAuth) && r.remaining() > 0) h.auth_plugin = std::string(r.null_str());
  // Connection attributes follow; Sluice does not need them.
  if (!r.ok) return std::nullopt;
  return h;
}

std::optional<ParsedOk> parse_ok(std::string_view payload, uint32_t caps) {
  Reader r(payload);
  uint8_t head = r.int1();
  if (head != 0x00 && head != 0xfe) return std::nullopt;
  ParsedOk p;
  p.ok.affected_rows = r.lenenc_int();
  p.ok.last_insert_id = r.lenenc_int();
  p.ok.status = r.int2();
  p.ok.warnings = r.int2();
  if (!r.ok) return std::nullopt;
  if (caps & kSessionTrack) {
    if (r.remaining() > 0) p.ok.info = r.lenenc_str();
    if ((p.ok.status & kStatusSessionStateChanged) && r.remaining() > 0) p.session_state = r.lenenc_str();
  } else {
    p.ok.info = r.rest();
  }
  if (!r.ok) return std::nullopt;
  return p;
}

std::optional<ParsedErr> parse_err(std::string_view payload) {
  Reader r(payload);
  if (r.int1() != 0xff) return std::nullopt;
  ParsedErr e;
  e.code = r.int2();
  if (!r.ok) return std::nullopt;
  if (r.remaining() >= 6 && r.data[r.pos] == '#') {
    r.int1();
    e.sqlstate = r.bytes(5);
  } else {
    e.sqlstate = "HY000";
  }
  e.message = r.rest();
  return e;
}

bool parse_session_changes(std::string_view session_state, SessionChanges& out) {
  Reader r(session_state);
  while (r.ok && r.remaining() > 0) {
    uint8_t type = r.int1();
    Reader e(r.lenenc_str());
    if (!r.ok) return false;
    if (type == kTrackSystemVariables) {
      std::string_view name = e.lenenc_str();
      std::string_view value = e.lenenc_str();
      if (e.ok) out.variables.emplace_back(name, value);
    } else if (type == kTrackSchema) {
      std::string_view name = e.lenenc_str();
      if (e.ok) out.schema = name;
    } else if (type == kTrackStateChange) {
      out.state_changed = true;
    }
  }
  return r.ok;
}

std::optional<std::string_view> tracked_schema(std::string_view session_state) {
  Reader r(session_state);
  while (r.ok && r.remaining() > 0) {
    uint8_t type = r.int1();
    std::string_view entry = r.lenenc_str();
    if (!r.ok) break;
    if (type == kTrackSchema) {
      Reader e(entry);
      std::string_view name = e.lenenc_str();
      if (e.ok) return name;
    }
  }
  return std::nullopt;
}

}  // namespace sluice::proto
