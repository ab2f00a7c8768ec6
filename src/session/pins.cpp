// When a session must keep its backend connection, and when it may let it go.
//
// Before a statement: a connection held only for "the next statement" is released unless
// the statement asks about the previous one (LAST_INSERT_ID(), FOUND_ROWS(), SHOW
// WARNINGS); statements that create state only their connection holds (user variables,
// temporary tables, LOCK TABLES, GET_LOCK, PREPARE) pin it.
// After it: the server's session tracking reports any other state change; a change that is
// neither a tracked variable (replayed on other connections) nor the schema pins too.
// UNLOCK TABLES and releasing every GET_LOCK undo their pins.
#include <algorithm>
#include <cctype>

#include "sluice/protocol.h"
#include "sluice/session.h"

namespace sluice {
namespace {

// How often `word` occurs in `text`, ignoring case. Lock calls are counted this way: a
// statement may take or release several locks (GET_LOCK('a',0) + GET_LOCK('b',0)).
uint32_t count_ci(std::string_view text, std::string_view word) {
  auto eq = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  };
  uint32_t n = 0;
  for (auto it = text.begin();; ++n, it += static_cast<std::ptrdiff_t>(word.size())) {
    it = std::search(it, text.end(), word.begin(), word.end(), eq);
    if (it == text.end()) return n;
  }
}

PinReason reason_of(uint32_t pin) {
  switch (pin) {
    case 1u << 0: return PinReason::kUserVariables;
    case 1u << 1: return PinReason::kTempTable;
    case 1u << 2: return PinReason::kLockTables;
    case 1u << 3: return PinReason::kGetLock;
    case 1u << 4: return PinReason::kPrepare;
    case 1u << 5: return PinReason::kUnknownState;
    case 1u << 6: return PinReason::kPrepare;
    case 1u << 7: return PinReason::kQueryRule;
    case 1u << 8: return PinReason::kLastInsertId;
    case 1u << 9: return PinReason::kFoundRows;
    default: return PinReason::kWarnings;
  }
}

}  // namespace

void Session::add_pin(uint32_t pin) {
  if (pins_ & pin) return;
  pins_ |= pin;
  worker_.stats.pins[static_cast<size_t>(reason_of(pin))].add();
}

void Session::release_unneeded_hold() {
  uint32_t hold = pins_ & kNextStatementPins;
  pins_ &= ~kNextStatementPins;
  kept_for_info_ = (hold & kPinWarnings) != 0 && cls_.has(kLastStatementInfo) && conn_ != nullptr;
  if (hold == 0 || conn_ == nullptr || pins_ != 0 || in_txn_) return;
  bool needed = ((hold & kPinInsertId) && cls_.has(kLastInsertId)) ||
                ((hold & kPinFoundRows) && cls_.has(kFoundRows)) ||
                ((hold & kPinWarnings) && cls_.has(kLastStatementInfo));
  if (!needed) release_backend();
}

// SHOW WARNINGS / ERRORS, @@warning_count ... describe the previous statement. When that
// statement's connection is not the one this statement gets, the borrowed connection's
// diagnostics (another client's) are cleared first (backend_use.cpp), so the client sees
// an empty list as it would from MariaDB after a statement without warnings.
void Session::note_diagnostics_need() {
  fresh_diagnostics_ = cls_.has(kLastStatementInfo) && !(conn_ != nullptr && kept_for_info_);
  kept_for_info_ = false;
}

void Session::pin_before(std::string_view sql) {
  if (cls_.has(kUserVariable)) add_pin(kPinUserVariables);
  if (cls_.has(kTempTable)) add_pin(kPinTempTable);
  if (cls_.has(kLockTables)) add_pin(kPinLockTables);
  if (cls_.has(kPrepare)) add_pin(kPinPrepare);
  // IS_FREE_LOCK / IS_USED_LOCK only ask (they are routed to the writer, where locks live).
  if (uint32_t taken = cls_.has(kGetLock) ? count_ci(sql, "get_lock(") : 0; taken > 0) {
    add_pin(kPinGetLock);
    get_locks_ += taken;
  }
  if (cls_.has(kReleaseLock)) {
    uint32_t released = count_ci(sql, "release_lock(");
    if (count_ci(sql, "release_all_locks(") > 0) get_locks_ = 0;
    else get_locks_ -= std::min(get_locks_, released);
  }
}

void Session::pin_after() {
  bool ok = !scan_.error();
  if (cmd_type_ == proto::kComQuery) {
    if (ok && cls_.has(kUnlockTables)) pins_ &= ~kPinLockTables;
    if (ok && cls_.has(kReleaseLock) && get_locks_ == 0) pins_ &= ~kPinGetLock;
    bool explained = cls_.flags & (kUserVariable | kTempTable | kPrepare);
    if (scan_.state_changed() && scan_.variables().empty() && !scan_.schema_change() && !explained)
      add_pin(kPinUnknownState);
    if (ok && scan_.last_insert_id() != 0) add_pin(kPinInsertId);
    if (ok && cls_.has(kFoundRows)) add_pin(kPinFoundRows);
  }
  if (!ok || scan_.warnings() != 0) add_pin(kPinWarnings);
}

}  // namespace sluice
