// What kind of statement a COM_QUERY is, by its leading keywords, named as ProxySQL's
// stats_mysql_commands_counters names them (SELECT, INSERT, CREATE_TABLE, ...).
//
// Owns: the mapping from leading keywords to a CommandKind. Pure and cheap (it lexes at
// most three tokens), called once per statement when it is counted.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice {

enum class CommandKind : uint8_t {
  kAlterTable, kAlterView, kAnalyzeTable, kBegin, kCall, kCommit, kCreateDatabase, kCreateIndex,
  kCreateTable, kCreateTemporary, kCreateTrigger, kCreateUser, kCreateView, kDeallocate, kDelete,
  kDescribe, kDropDatabase, kDropIndex, kDropTable, kDropTrigger, kDropUser, kDropView, kExecute,
  kExplain, kFlush, kGrant, kInsert, kKill, kLoad, kLockTable, kOptimize, kPrepare, kRenameTable,
  kReplace, kRevoke, kRollback, kSavepoint, kSelect, kSelectForUpdate, kSet, kShow,
  kStartTransaction, kTruncateTable, kUnlockTables, kUpdate, kUse, kUnknown, kCount
};

const char* command_kind_name(CommandKind k);  // "ALTER_TABLE", ..., "UNKNOWN"
// `locking_read`: the classifier saw FOR UPDATE / LOCK IN SHARE MODE (SELECT_FOR_UPDATE).
CommandKind command_kind(std::string_view sql, bool locking_read);

}  // namespace sluice
