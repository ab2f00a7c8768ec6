// MySQL client/server protocol: constants, packet framing and the few packets Sluice
// builds or parses itself (handshake, OK, ERR, EOF).
//
// Owns: byte-level encoding only. No sockets, no session logic.
// Thread rules: pure functions and value types; safe anywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::proto {

// Capability flags (the subset Sluice reasons about).
enum Cap : uint32_t {
  kLongPassword = 1u << 0,  // also "CLIENT_MYSQL": announces a MySQL (not MariaDB) server
  kFoundRows = 1u << 1,
  kLongFlag = 1u << 2,
  kConnectWithDb = 1u << 3,
  kNoSchema = 1u << 4,
  kCompress = 1u << 5,
  kOdbc = 1u << 6,
  kLocalFiles = 1u << 7,
  kIgnoreSpace = 1u << 8,
  kProtocol41 = 1u << 9,
  kInteractive = 1u << 10,
  kSsl = 1u << 11,
  kIgnoreSigpipe = 1u << 12,
  kTransactions = 1u << 13,
  kReserved = 1u << 14,
  kSecureConnection = 1u << 15,
  kMultiStatements = 1u << 16,
  kMultiResults = 1u << 17,
  kPsMultiResults = 1u << 18,
  kPluginAuth = 1u << 19,
  kConnectAttrs = 1u << 20,
  kPluginAuthLenencData = 1u << 21,
  kCanHandleExpiredPasswords = 1u << 22,
  kSessionTrack = 1u << 23,
  kDeprecateEof = 1u << 24,
};

enum Status : uint16_t {
  kStatusInTrans = 0x0001,
  kStatusAutocommit = 0x0002,
  kStatusMoreResults = 0x0008,
  kStatusCursorExists = 0x0040,
  kStatusInTransReadonly = 0x2000,
  kStatusSessionStateChanged = 0x4000,
};

enum Command : uint8_t {
  kComSleep = 0x00,
  kComQuit = 0x01,
  kComInitDb = 0x02,
  kComQuery = 0x03,
  kComFieldList = 0x04,
  kComStatistics = 0x09,
  kComProcessKill = 0x0c,
  kComPing = 0x0e,
  kComChangeUser = 0x11,
  kComStmtPrepare = 0x16,
  kComStmtExecute = 0x17,
  kComStmtSendLongData = 0x18,
  kComStmtClose = 0x19,
  kComStmtReset = 0x1a,
  kComSetOption = 0x1b,
  kComStmtFetch = 0x1c,
  kComResetConnection = 0x1f,
};

constexpr size_t kHeaderSize = 4;
constexpr uint32_t kMaxChunk = 0xffffff;  // a logical packet continues while a chunk is this long

// Session-state tracking entry types inside an OK packet.
enum SessionTrack : uint8_t {
  kTrackSystemVariables = 0,
  kTrackSchema = 1,
  kTrackStateChange = 2,
  kTrackGtids = 3,
};

// ---- primitive codecs ------------------------------------------------------------------

void put_int1(std::string& out, uint8_t v);
void put_int2(std::string& out, uint16_t v);
void put_int3(std::string& out, uint32_t v);
void put_int4(std::string& out, uint32_t v);
void put_lenenc_int(std::string& out, uint64_t v);
void put_lenenc_str(std::string& out, std::string_view s);

// Cursor over a packet payload; every read checks bounds and sets `ok = false` on underrun.
struct Reader {
  std::string_view data;
  size_t pos = 0;
  bool ok = true;

  explicit Reader(std::string_view d) : data(d) {}
  size_t remaining() const { return pos <= data.size() ? data.size() - pos : 0; }
  uint8_t int1();
  uint16_t int2();
  uint32_t int3();
  uint32_t int4();
  uint64_t lenenc_int();
  std::string_view bytes(size_t n);
  std::string_view lenenc_str();
  std::string_view null_str();  // NUL-terminated; without a NUL takes the rest
  std::string_view rest();
};

// Appends a packet header + payload. Payloads of 16 MiB and more are split into chunks
// with consecutive sequence ids; returns the next sequence id.
uint8_t append_packet(std::string& out, uint8_t seq, std::string_view payload);

// Where the first logical packet of `in` ends (its 16 MiB chunks joined): kReady with
// *end set, kNeedMore, or kTooBig once the packet is known to exceed max_bytes (headers
// included). Reads headers only.
enum class Framing { kReady, kNeedMore, kTooBig };
Framing frame_packet(std::string_view in, size_t max_bytes, size_t* end);
// The body of the logical packet in in[0, end) (chunk headers dropped) into `payload`.
void join_payload(std::string_view in, size_t end, std::string& payload);

// ---- packets Sluice builds -------------------------------------------------------------

struct OkInfo {
  uint64_t affected_rows = 0;
  uint64_t last_insert_id = 0;
  uint16_t status = kStatusAutocommit;
  uint16_t warnings = 0;
  std::string_view info;
};

std::string ok_payload(const OkInfo& ok, uint32_t client_caps);
std::string err_payload(uint16_t code, std::string_view sqlstate, std::string_view message);
std::string eof_payload(uint16_t warnings, uint16_t status);
// The end-of-data marker a client negotiated: EOF, or with CLIENT_DEPRECATE_EOF an OK
// packet whose first byte is 0xFE.
std::string eof_payload(uint16_t warnings, uint16_t status, uint32_t client_caps);

struct HandshakeV10 {
  std::string server_version;
  uint32_t connection_id = 0;
  std::string salt;  // 20 bytes
  uint32_t capabilities = 0;
  uint8_t charset = 45;  // utf8mb4_general_ci
  uint16_t status = kStatusAutocommit;
  std::string auth_plugin;
};
std::string handshake_payload(const HandshakeV10& h);

// ---- packets Sluice parses -------------------------------------------------------------

struct HandshakeResponse {
  uint32_t capabilities = 0;
  uint32_t max_packet = 0;
  uint8_t charset = 0;
  std::string user;
  std::string auth_response;
  std::string database;
  std::string auth_plugin;
};
// Protocol 4.1 responses only (every client from the last 15 years).
std::optional<HandshakeResponse> parse_handshake_response(std::string_view payload);

// An OK packet from a backend that negotiated CLIENT_SESSION_TRACK.
struct ParsedOk {
  OkInfo ok;
  std::string_view session_state;  // raw state-change block, empty if none
};
std::optional<ParsedOk> parse_ok(std::string_view payload, uint32_t caps);

struct ParsedErr {
  uint16_t code = 0;
  std::string_view sqlstate;
  std::string_view message;
};
std::optional<ParsedErr> parse_err(std::string_view payload);

// Schema name from a session-state block, if a schema change is reported.
std::optional<std::string_view> tracked_schema(std::string_view session_state);

// What a session-state block reports: changed system variables (name, value), the new
// schema, and whether the state changed at all (session_track_state_change).
struct SessionChanges {
  std::vector<std::pair<std::string_view, std::string_view>> variables;
  std::optional<std::string_view> schema;
  bool state_changed = false;
};
bool parse_session_changes(std::string_view session_state, SessionChanges& out);

// ---- prepared statements (stmt_packets.cpp) --------------------------------------------

constexpr uint8_t kCursorTypeReadOnly = 0x01;  // COM_STMT_EXECUTE flags
constexpr uint16_t kStatusLastRowSent = 0x0080;

inline bool is_stmt_command(uint8_t cmd) {
  return cmd == kComStmtPrepare || cmd == kComStmtExecute || cmd == kComStmtSendLongData || cmd == kComStmtClose ||
         cmd == kComStmtReset || cmd == kComStmtFetch;
}

// COM_STMT_EXECUTE: [0x17][stmt id 4][flags 1][iterations 4]; with parameters, the NULL
// bitmap, the new-params-bound flag and (flag 1) two type bytes per parameter, then values.
struct StmtExecute {
  uint32_t stmt_id = 0;
  uint8_t flags = 0;
  size_t bound_flag_at = 0;  // offset of the new-params-bound flag; 0 without parameters
  bool new_types = false;
  std::string_view types;  // the types sent (new_types only)
};
// nullopt if the payload is too short for `params` parameters.
std::optional<StmtExecute> parse_stmt_execute(std::string_view payload, uint16_t params);
// The payload with the new-params-bound flag set and `types` inserted after it, for an
// execution whose client sent none (it bound them on another connection).
std::string stmt_execute_add_types(std::string_view payload, const StmtExecute& e, std::string_view types);
// Overwrites the statement id of a COM_STMT_* packet: `at` is 1 in a payload, 5 in a raw
// packet (header included).
void put_stmt_id(std::string& buf, size_t at, uint32_t id);
// A whole COM_STMT_CLOSE packet (sequence id 0).
std::string stmt_close_packet(uint32_t backend_id);
// The first packet of a COM_STMT_PREPARE answer.
std::string prepare_ok_payload(uint32_t id, uint16_t columns, uint16_t params, uint16_t warnings);

}  // namespace sluice::proto
