// Outcomes as MySQL packets: text-protocol result sets (column definitions, rows with NULL
// as 0xFB, EOF or the DEPRECATE_EOF OK terminator), OK and ERR packets. Integer columns go
// out as LONGLONG, reals as DOUBLE, the rest as VAR_STRING (utf8mb4), so that clients
// convert integers to numbers as they would from a MySQL server.
#include "admin_internal.h"
#include "sluice/protocol.h"

namespace sluice::admin {
namespace {

constexpr uint8_t kTypeDouble = 0x05;
constexpr uint8_t kTypeLongLong = 0x08;
constexpr uint8_t kTypeVarString = 0xfd;
constexpr uint16_t kBinaryCharset = 63;
constexpr uint16_t kUtf8mb4Charset = 45;
constexpr uint16_t kNumFlag = 0x8000, kBinaryFlag = 0x80;

std::string column_definition(const std::string& name, ColumnType type, uint32_t width) {
  std::string p;
  proto::put_lenenc_str(p, "def");
  proto::put_lenenc_str(p, "main");  // schema
  proto::put_lenenc_str(p, "");      // table
  proto::put_lenenc_str(p, "");      // org_table
  proto::put_lenenc_str(p, name);
  proto::put_lenenc_str(p, name);
  proto::put_int1(p, 0x0c);
  bool text = type == ColumnType::kText;
  proto::put_int2(p, text ? kUtf8mb4Charset : kBinaryCharset);
  proto::put_int4(p, text ? width * 4 : (type == ColumnType::kInteger ? 20 : 22));
  proto::put_int1(p, type == ColumnType::kInteger ? kTypeLongLong : type == ColumnType::kReal ? kTypeDouble : kTypeVarString);
  proto::put_int2(p, text ? 0 : (kNumFlag | kBinaryFlag));
  proto::put_int1(p, type == ColumnType::kReal ? 31 : 0);  // decimals (31 = not fixed)
  proto::put_int2(p, 0);
  return p;
}

}  // namespace

void append_outcome(std::string& out, uint8_t& seq, const Outcome& o, uint32_t caps, bool more) {
  uint16_t status = static_cast<uint16_t>(proto::kStatusAutocommit | (more ? proto::kStatusMoreResults : 0));
  if (o.error) {
    seq = proto::append_packet(out, seq, proto::err_payload(o.code, o.sqlstate, o.message));
    return;
  }
  if (!o.has_rows) {
    proto::OkInfo ok;
    ok.affected_rows = o.affected_rows;
    ok.last_insert_id = o.last_insert_id;
    ok.status = status;
    ok.info = o.info;
    seq = proto::append_packet(out, seq, proto::ok_payload(ok, caps));
    return;
  }
  const ResultSet& rs = o.rs;
  std::string count;
  proto::put_lenenc_int(count, rs.columns.size());
  seq = proto::append_packet(out, seq, count);
  for (size_t i = 0; i < rs.columns.size(); ++i) {
    uint32_t width = 1;
    for (const auto& row : rs.rows)
      if (row[i] && row[i]->size() > width) width = static_cast<uint32_t>(std::min<size_t>(row[i]->size(), 1u << 24));
    ColumnType type = i < rs.types.size() ? rs.types[i] : ColumnType::kText;
    seq = proto::append_packet(out, seq, column_definition(rs.columns[i], type, width));
  }
  if (!(caps & proto::kDeprecateEof)) seq = proto::append_packet(out, seq, proto::eof_payload(0, proto::kStatusAutocommit));
  std::string row_payload;
  for (const auto& row : rs.rows) {
    row_payload.clear();
    for (const auto& v : row) {
      if (v) proto::put_lenenc_str(row_payload, *v);
      else row_payload.push_back(static_cast<char>(0xfb));
    }
    seq = proto::append_packet(out, seq, row_payload);
  }
  seq = proto::append_packet(out, seq, proto::eof_payload(0, status, caps));
}

}  // namespace sluice::admin
