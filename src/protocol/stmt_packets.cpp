// Prepared-statement packets Sluice reads or rewrites (see protocol.h).
#include "sluice/protocol.h"

namespace sluice::proto {

std::optional<StmtExecute> parse_stmt_execute(std::string_view payload, uint16_t params) {
  Reader r(payload);
  r.int1();
  StmtExecute e;
  e.stmt_id = r.int4();
  e.flags = r.int1();
  r.int4();  // iteration count
  if (!r.ok) return std::nullopt;
  if (params == 0) return e;
  r.bytes((params + 7u) / 8u);
  e.bound_flag_at = r.pos;
  e.new_types = r.int1() != 0;
  if (e.new_types) e.types = r.bytes(2u * params);
  if (!r.ok) return std::nullopt;
  return e;
}

std::string stmt_execute_add_types(std::string_view payload, const StmtExecute& e, std::string_view types) {
  std::string out;
  out.reserve(payload.size() + types.size());
  out.append(payload.substr(0, e.bound_flag_at));
  out.push_back('\x01');
  out.append(types);
  out.append(payload.substr(e.bound_flag_at + 1));
  return out;
}

void put_stmt_id(std::string& buf, size_t at, uint32_t id) {
  for (int i = 0; i < 4; ++i) buf[at + static_cast<size_t>(i)] = static_cast<char>((id >> (8 * i)) & 0xff);
}

std::string stmt_close_packet(uint32_t backend_id) {
  std::string p;
  put_int1(p, kComStmtClose);
  put_int4(p, backend_id);
  std::string raw;
  append_packet(raw, 0, p);
  return raw;
}

std::string prepare_ok_payload(uint32_t id, uint16_t columns, uint16_t params, uint16_t warnings) {
  std::string p;
  put_int1(p, 0x00);
  put_int4(p, id);
  put_int2(p, columns);
  put_int2(p, params);
  put_int1(p, 0x00);
  put_int2(p, warnings);
  return p;
}

}  // namespace sluice::proto
