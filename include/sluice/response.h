// Streaming scanner for backend responses: finds where a command's response ends and
// what state it left, while the bytes flow through to the client unchanged.
//
// Owns: packet framing of the backend stream (headers, 16 MiB continuation chunks) and
// the response grammar of COM_QUERY (OK | ERR | LOCAL INFILE | result sets, chained by
// SERVER_MORE_RESULTS_EXISTS), COM_FIELD_LIST and single-packet replies.
// Rewrites only what a client did not negotiate: OK packets carrying session-tracking
// data are rebuilt without it for clients lacking CLIENT_SESSION_TRACK; MariaDB's
// extended metadata is cut out of column definitions; progress reports (ERR 0xFFFF) are
// dropped.
// Memory: only OK, ERR and column-definition packets are held whole (they are small and
// never continued past 16 MiB); rows are forwarded as they arrive, so memory stays
// bounded whatever the result size.
// Thread rules: plain value type, one per session.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

class ResponseScanner {
 public:
  enum class Kind : uint8_t {
    kQuery,      // COM_QUERY (and the reply after LOCAL INFILE data)
    kFieldList,  // COM_FIELD_LIST: column definitions then EOF, or ERR
    kSingle,     // exactly one packet: OK, ERR, EOF, or a COM_STATISTICS string
    kPrepare,    // COM_STMT_PREPARE: OK (id, columns, params), param defs, EOF, column defs, EOF
    kExecute,    // COM_STMT_EXECUTE: like kQuery with binary rows; a cursor ends after the defs
    kFetch,      // COM_STMT_FETCH: binary rows then EOF, or ERR
  };

  // forward=false swallows the response (used for commands Sluice sends on its own).
  // backend_ext_metadata: the backend negotiated MariaDB's extended column metadata, which
  // no client of Sluice has (Sluice announces itself as a MySQL server), so it is stripped.
  // backend_cache_metadata: the backend adds a "metadata follows" byte to column counts.
  // Clients with CLIENT_DEPRECATE_EOF get no EOF after column definitions and an OK with a
  // 0xFE head instead of the final EOF; later packets are renumbered to stay consecutive.
  void begin(Kind kind, uint32_t backend_caps, uint32_t client_caps, bool forward,
             bool backend_ext_metadata = false, bool backend_cache_metadata = false);
  // The client lacks CLIENT_MULTI_RESULTS and ran CALL: a result set from the procedure is
  // swallowed and rejected() is set, so the session answers with error 1312 as MariaDB does.
  void reject_result_sets() { reject_results_ = true; }
  // kPrepare and kExecute: the column definitions sent (as the client sees them) are
  // appended to `into`.
  void capture_columns(std::vector<std::string>* into) { capture_ = into; }
  // kExecute: when the backend skips metadata it sent at the previous execution (MariaDB's
  // cache-metadata capability), these definitions are sent instead, since clients expect
  // them every time.
  void inject_columns(const std::vector<std::string>* cols) { inject_ = cols; }
  uint32_t prepared_id() const { return prep_id_; }  // kPrepare: the statement id
  bool rejected() const { return rejected_; }
  // Consumes bytes up to the end of the response; returns how many were used (the rest,
  // if any, is not part of this response). Appends what the client must see to `out`.
  size_t feed(std::string_view in, std::string& out);

  bool done() const { return done_; }
  bool protocol_error() const { return protocol_error_; }
  bool forwarded_any() const { return forwarded_any_; }
  bool infile_requested() const { return infile_; }
  // The server asked for a LOCAL INFILE the client never allowed (no CLIENT_LOCAL_FILES):
  // the request was not forwarded; the session sends an empty file and an error.
  bool infile_refused() const { return infile_refused_; }
  // After the client's LOCAL INFILE data: the server's reply is scanned like a query's.
  void resume_after_infile();

  uint16_t status() const { return status_; }
  bool has_status() const { return has_status_; }  // an OK or EOF was seen
  bool error() const { return error_code_ != 0; }
  uint16_t error_code() const { return error_code_; }
  const std::string& error_message() const { return error_message_; }
  const std::string& error_state() const { return error_state_; }
  uint64_t last_insert_id() const { return last_insert_id_; }
  const std::optional<std::string>& schema_change() const { return schema_; }
  // System variables the response's OK packets reported changed, in order.
  const std::vector<std::pair<std::string, std::string>>& variables() const { return variables_; }
  // The server reported a session state change (variables, schema, user variables,
  // temporary tables, prepared statements, ...).
  bool state_changed() const { return state_changed_; }
  uint16_t warnings() const { return warnings_; }
  uint64_t rows_sent() const { return rows_; }           // result set rows, all results
  uint64_t affected_rows() const { return affected_rows_; }
  uint8_t next_seq() const { return next_seq_; }

 private:
  enum class Phase : uint8_t {
    kFirst, kColumns, kColumnsEof, kRows, kFieldDefs, kSingle,
    kPrepOk, kPrepParams, kPrepParamsEof, kPrepColumns, kPrepColumnsEof
  };

  void start_packet(std::string& out);
  void end_chunk(std::string& out);
  void on_packet(std::string& out);
  void on_first_packet(std::string& out);
  void on_ok(std::string& out);
  void on_err(std::string& out);
  void on_column(std::string& out);
  void on_prepare_ok(std::string& out);
  void on_prepare_packet(std::string& out);
  void after_prepare_section();
  void send_injected_columns(std::string& out);
  void emit_held(std::string& out);
  bool is_eof() const;

  Kind kind_ = Kind::kQuery;
  Phase phase_ = Phase::kFirst;
  uint32_t backend_caps_ = 0;
  uint32_t client_caps_ = 0;
  bool forward_ = true;
  bool strip_ext_ = false;
  bool strip_meta_flag_ = false;
  bool deprecate_eof_ = false;
  bool reject_results_ = false;
  bool rejected_ = false;
  uint8_t seq_shift_ = 0;  // packets dropped so far; later sequence ids move down by this
  bool done_ = true;
  bool protocol_error_ = false;
  bool forwarded_any_ = false;
  bool infile_ = false;
  bool infile_refused_ = false;

  // framing
  unsigned char hdr_[4];
  uint8_t hdr_have_ = 0;
  uint32_t chunk_len_ = 0;
  uint32_t chunk_left_ = 0;
  bool in_continuation_ = false;  // the current chunk continues a >= 16 MiB packet
  bool started_ = false;          // first payload byte of the chunk decided hold/forward
  bool hold_ = false;
  uint64_t logical_len_ = 0;
  std::string head_;  // first bytes of the logical packet (bounded)
  std::string held_;  // a whole held packet, header included
  uint8_t seq_ = 0;
  uint8_t next_seq_ = 1;

  uint64_t columns_left_ = 0;
  uint64_t params_left_ = 0;
  uint32_t prep_id_ = 0;
  std::vector<std::string>* capture_ = nullptr;
  const std::vector<std::string>* inject_ = nullptr;
  uint16_t status_ = 0;
  bool has_status_ = false;
  uint16_t error_code_ = 0;
  std::string error_message_;
  std::string error_state_;
  uint64_t last_insert_id_ = 0;
  std::optional<std::string> schema_;
  std::vector<std::pair<std::string, std::string>> variables_;
  bool state_changed_ = false;
  uint16_t warnings_ = 0;
  uint64_t rows_ = 0;
  uint64_t affected_rows_ = 0;
};

}  // namespace sluice
