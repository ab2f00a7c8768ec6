// A client session: the server side of the MySQL protocol for one client connection.
//
// States (transitions are the functions named in brackets):
//   kGreeting   greeting sent, waiting for the handshake response     [on_handshake_response]
//   kAuthSwitch auth switch sent, waiting for the new scramble         [on_auth_switch_response]
//   kReady      waiting for a command                                  [dispatch]
//   kCheckout   a command waits for a backend connection (pool/connect) [checkout, on_grant]
//   kSyncing    Sluice replays schema/charset/autocommit/options on it  [sync_next]
//   kPreparing  Sluice prepares the statement to execute on it           [prepare_on_connection,
//               (its answer is swallowed)                                  on_connection_prepared]
//   kRelaying   command sent; response streams back to the client       [relay_backend]
//   kInfile     the client streams LOCAL INFILE data to the backend     [relay_infile]
//   kClosing    socket being closed; the object deletes itself after    [close]
// One command is in flight at a time; pipelined client commands wait in the input buffer.
// Backend connections are borrowed per statement and returned unless the session is in
// a transaction or pinned by state Sluice cannot replay (SET, user variables, temporary
// tables, locks, ...). Prepared statements do not pin: they live in the process-wide
// statement cache (stmt_cache.h) and each connection prepares them when first lent for one;
// only an open cursor or pending long data holds a connection.
// Thread rules: lives on one worker's loop for its whole life.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sluice/backend.h"
#include "sluice/classifier.h"
#include "sluice/command_kind.h"
#include "sluice/response.h"
#include "sluice/session_vars.h"
#include "sluice/sessions.h"
#include "sluice/stmt_cache.h"
#include "sluice/stream.h"
#include "sluice/topology.h"
#include "sluice/worker.h"

namespace sluice {

struct Server;
struct User;
struct Hostgroup;
struct RoutingTable;

class Session final : private StreamHandler, private BackendListener, public PoolWaiter {
 public:
  Session(Worker& worker, int fd, uint32_t conn_id, std::string peer, uint16_t peer_port);
  void start();
  // KILL CONNECTION from another session (called on this session's worker).
  void kill_connection() { close("killed by KILL CONNECTION"); }
  // The monitor shunned `s`: if the statement in flight runs there, give up on it (a read
  // that sent nothing to the client yet is retried elsewhere).
  void abort_on_server(Server* s);
  // Clients wait for connections of `wanted`: if this idle session keeps one of them only
  // in case its next statement asks about the last one (LAST_INSERT_ID(), or SHOW WARNINGS
  // once idle for min_idle_ms), it gives it back. FOUND_ROWS holds are kept.
  void release_soft_hold(const std::vector<Server*>& wanted, int64_t now, uint32_t min_idle_ms);

 private:
  enum class State : uint8_t {
    kGreeting, kAuthSwitch, kReady, kCheckout, kSyncing, kPreparing, kRelaying, kInfile, kClosing
  };
  // Why a session keeps its backend connection between statements (pins.cpp). The first
  // group lasts until undone; the second holds the connection for the next statement only,
  // in case it asks about the previous one.
  enum Pin : uint32_t {
    kPinUserVariables = 1u << 0,  // @x lives on one connection
    kPinTempTable = 1u << 1,
    kPinLockTables = 1u << 2,     // until UNLOCK TABLES
    kPinGetLock = 1u << 3,        // until every GET_LOCK is released
    kPinPrepare = 1u << 4,        // text-protocol PREPARE
    kPinUnknownState = 1u << 5,   // the server reported state Sluice cannot replay
    kPinCursor = 1u << 6,         // a prepared statement's cursor is open, until exhausted/reset/closed
    kPinQueryRule = 1u << 7,      // a query rule with multiplex=0 matched: for the session
    kPinLongData = 1u << 11,      // COM_STMT_SEND_LONG_DATA sent, until its statement executes
    kPinInsertId = 1u << 8,       // LAST_INSERT_ID() may follow
    kPinFoundRows = 1u << 9,      // FOUND_ROWS() may follow SQL_CALC_FOUND_ROWS
    kPinWarnings = 1u << 10,      // SHOW WARNINGS / ERRORS may follow
  };
  static constexpr uint32_t kNextStatementPins = kPinInsertId | kPinFoundRows | kPinWarnings;

  ~Session();

  // ---- client socket (session.cpp) ----
  void on_readable() override;
  void on_drained() override;
  void on_stream_error(int uv_status) override;
  void process_input();
  bool take_packet(std::string& raw, std::string& payload, uint8_t& seq);
  void send_packet(uint8_t seq, std::string_view payload);
  bool write_client(std::string_view bytes);
  void send_error(uint8_t seq, uint16_t code, std::string_view state, std::string_view msg);
  // An OK with the session's status flags (and `info`, e.g. a rule's OK_msg).
  void send_ok(uint8_t seq, std::string_view info = {});
  uint16_t status_flags() const;  // autocommit / in-transaction as the client must see them
  // A held connection died while the client was idle: its next command gets error 2013
  // (true) instead of running without the state it had.
  bool report_lost_state();
  void close(const char* why);

  // ---- handshake and auth (handshake.cpp) ----
  void send_greeting();
  void on_handshake_response(std::string_view payload, uint8_t seq);
  void on_auth_switch_response(std::string_view payload, uint8_t seq);
  void send_auth_switch(uint8_t seq);
  void authenticate(std::string_view plugin, std::string_view response, uint8_t seq);
  void auth_done(bool ok, uint8_t seq, bool sha2_fast);
  void deny_access(uint8_t seq);
  void check_login_schema(uint8_t seq);
  void on_change_user(std::string_view payload);
  void reset_session();

  // ---- prepared statements: client commands (statements.cpp) ----
  // A client's statement: its cache entry and what the client has told it so far.
  struct ClientStmt {
    StmtCache::Ptr entry;
    std::string types;            // parameter types the client last sent (2 bytes each)
    bool cursor = false;          // a cursor is open on the held connection
    bool long_data = false;       // long data went to the held connection; EXECUTE must follow
    std::string long_data_error;  // long data was lost: the next EXECUTE fails with this
  };
  bool dispatch_statement();
  void prepare_statement();
  void answer_prepare(const PreparedStmt& e, uint32_t client_id);
  void execute_statement(uint32_t id);
  void long_data_statement(uint32_t id);
  void fetch_statement(uint32_t id);
  void reset_statement(uint32_t id);
  void close_statement(uint32_t id);
  void route_statement(ClientStmt& st, ResponseScanner::Kind kind);
  void finish_statement();
  void finish_prepare();
  void finish_execute();
  void set_cursor(ClientStmt& st, bool open);
  void set_long_data(ClientStmt& st, bool pending);
  void forget_connection_statements();  // the held connection is gone, with its statements
  ClientStmt* find_stmt(uint32_t id);
  const std::string& sync_schema() const;
  std::string stmt_context() const;

  // ---- prepared statements on the lent connection (stmt_backend.cpp) ----
  void send_statement();
  void send_execute(ClientStmt& st, BackendStatements::Stmt& bs);
  void prepare_on_connection(const PreparedStmt& e);
  void on_connection_prepared();
  void register_on_connection(const PreparedStmt& e, uint32_t backend_id, std::shared_ptr<const ColumnDefs> cols);
  void finish_without_reply();

  // ---- KILL (kill.cpp) ----
  bool kill_command();  // true if the command was a KILL and is being handled
  void kill_session(uint32_t id, bool query_only);
  bool finish_login();

  // ---- commands (command.cpp) ----
  void dispatch();  // the command in cmd_raw_ / cmd_payload_
  void run_on_backend(uint32_t hostgroup, ResponseScanner::Kind kind);
  uint32_t writer_hg();  // where this session's writes go (user's default_hostgroup)
  uint32_t reader_hg();
  void finish_command();
  void trim_buffers();
  void record_statement(bool ok);

  // ---- query rules and digests (rules.cpp) ----
  // true if a rule answered the client. `prepared`: a COM_STMT_EXECUTE of that statement
  // (its digest was taken at prepare); only destination_hostgroup and multiplex apply (as
  // in ProxySQL, no rewrite).
  bool apply_query_rules(std::string_view sql, const PreparedStmt* prepared = nullptr);
  void record_digest(bool ok);

  // ---- pinning (pins.cpp) ----
  void release_unneeded_hold();
  void note_diagnostics_need();
  void pin_before(std::string_view sql);
  void pin_after();
  void add_pin(uint32_t pin);
  void fail_command(uint16_t code, std::string_view state, const std::string& msg);

  // ---- backend use (backend_use.cpp) ----
  void checkout();
  bool wait_for_writer();
  bool retry_read_only_write();
  void note_write_gtid(std::string_view gtid);
  const uint64_t* read_your_writes_floor();
  void on_grant(Server& server, BackendConn* conn) override;
  void open_connection(Server& server);
  void got_connection(BackendConn* conn);
  void connect_failed(Server& server, unsigned err, const std::string& msg);
  void start_checkout_timer();
  void stop_checkout_timer();
  void checkout_timed_out();
  void sync_next();
  void send_command();
  bool needs_last_insert_id() const;
  void release_backend();
  void drop_backend(CloseReason why);
  bool retry_elsewhere();
  void on_backend_readable() override;
  void on_backend_drained() override;
  void on_backend_error(int uv_status) override;
  void relay_backend(std::string_view data);
  void backend_lost(const char* what);

  Worker& worker_;
  FdStream client_;
  const uint32_t conn_id_;
  const std::string peer_;
  State state_ = State::kGreeting;

  // negotiated
  std::string salt_;
  uint32_t caps_ = 0;
  uint8_t charset_ = 45;
  std::shared_ptr<const User> user_;
  bool counted_user_ = false;
  bool multi_statements_ = false;
  std::string identity_schema_;     // pool identity while a schema is selected
  std::string identity_no_schema_;  // ... and while none is
  bool sent_password_ = false;
  // Login waits for the schema named in the handshake to be checked on a backend.
  bool login_pending_ = false;
  uint8_t login_seq_ = 0;
  BackendIdentity backend_id_;

  // session state the client expects
  std::string schema_;
  bool autocommit_ = true;
  bool in_txn_ = false;
  uint32_t pins_ = 0;
  uint32_t get_locks_ = 0;  // GET_LOCK calls not yet released
  uint64_t last_insert_id_ = 0;    // as LAST_INSERT_ID() would answer; replayed when asked
  bool kept_for_info_ = false;     // the held connection ran the previous statement
  bool fresh_diagnostics_ = false;  // clear the borrowed connection's warnings first
  SessionVars vars_;        // session variables the client changed (and its charset)
  // Read-your-writes: GTID sequence numbers per domain this session wrote last (0 = none);
  // a replica serves its reads only once it has applied them.
  uint64_t written_seq_[kGtidDomains] = {};
  bool wrote_seq_ = false;
  int64_t unknown_gtid_until_ms_ = 0;  // a write in an untracked domain: reads to the writer
  uint32_t written_server_[kGtidDomains] = {};  // server_id part of those GTIDs
  bool gtid_wait_ = false;  // the sync step MASTER_GTID_WAIT is due on the borrowed replica
  bool lost_state_ = false;  // a held connection died while the client was idle
  int64_t idle_since_ms_ = 0;  // when the last command ended

  // input
  static constexpr size_t kMaxPipelinedInput = 1 << 20;
  std::string in_;
  bool reading_ = false;

  // command in flight
  std::string cmd_raw_;
  std::string cmd_payload_;
  uint8_t cmd_type_ = 0;
  int64_t cmd_start_ns_ = 0;
  bool route_read_ = false;
  Classification cls_;
  std::optional<uint32_t> rule_hostgroup_;
  CommandKind cmd_kind_{};  // COM_QUERY: the statement's kind (stats_mysql_commands_counters)  // a query rule's destination_hostgroup
  bool digest_valid_ = false;  // digest_text_/digest_hash_ describe the statement in flight
  std::string digest_text_;
  uint64_t digest_hash_ = 0;
  uint32_t target_hg_ = 0;  // hostgroup of the command in flight (ids survive table swaps)
  std::vector<Server*> tried_;
  Server* server_ = nullptr;
  uint64_t waiter_token_ = 0;
  uv_timer_t* checkout_timer_ = nullptr;  // pool wait timeout, or the writer-wait poll
  int64_t writer_wait_until_ = 0;  // now_ms() deadline while waiting for a writer (0 = not)
  ResponseScanner::Kind kind_ = ResponseScanner::Kind::kQuery;
  ResponseScanner scan_;
  std::vector<std::string> sync_cmds_;  // raw packets Sluice sends before the command
  std::string out_;

  BackendConn* conn_ = nullptr;
  std::shared_ptr<SessionInfo> info_;  // shared with the registry, for KILL
  Server* forced_server_ = nullptr;    // checkout() goes to this server (KILL QUERY)
  // Prepared statements by the ids Sluice gave the client (from 1, as a server does).
  std::unordered_map<uint32_t, ClientStmt> stmts_;
  uint32_t next_stmt_id_ = 1;
  uint32_t stmt_id_ = 0;          // the statement of the COM_STMT_* in flight
  uint32_t open_cursors_ = 0;     // statements with cursor set
  uint32_t long_data_stmts_ = 0;  // statements with long_data set
  ColumnDefs captured_params_;    // definitions seen in the response in flight
  ColumnDefs captured_columns_;
  std::shared_ptr<const ColumnDefs> inject_columns_;  // sent when the server skips them
};

}  // namespace sluice
