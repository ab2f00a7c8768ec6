// COM_STMT_* packets Sluice reads and rewrites: execute parsing (with and without
// parameters and types), types added for a connection, statement ids replaced.
#include <doctest/doctest.h>

#include <string>

#include "sluice/protocol.h"

namespace proto = sluice::proto;

namespace {

// COM_STMT_EXECUTE with two parameters: 7 (LONGLONG) and NULL.
std::string execute_payload(uint32_t id, bool with_types, uint8_t flags = 0) {
  std::string p;
  proto::put_int1(p, proto::kComStmtExecute);
  proto::put_int4(p, id);
  proto::put_int1(p, flags);
  proto::put_int4(p, 1);
  proto::put_int1(p, 0x02);  // NULL bitmap: the second parameter
  proto::put_int1(p, with_types ? 1 : 0);
  if (with_types) p += std::string("\x08\x00\x06\x00", 4);
  p += std::string("\x07\0\0\0\0\0\0\0", 8);
  return p;
}

}  // namespace

TEST_CASE("stmt packets: execute with types") {
  std::string p = execute_payload(42, true, proto::kCursorTypeReadOnly);
  auto e = proto::parse_stmt_execute(p, 2);
  REQUIRE(e);
  CHECK(e->stmt_id == 42);
  CHECK(e->flags == proto::kCursorTypeReadOnly);
  CHECK(e->new_types);
  CHECK(e->types == std::string_view("\x08\x00\x06\x00", 4));
  CHECK(e->bound_flag_at == 11);
}

TEST_CASE("stmt packets: execute without types gets the connection's types added") {
  std::string p = execute_payload(42, false);
  auto e = proto::parse_stmt_execute(p, 2);
  REQUIRE(e);
  CHECK_FALSE(e->new_types);
  std::string with = proto::stmt_execute_add_types(p, *e, std::string("\x08\x00\x06\x00", 4));
  CHECK(with == execute_payload(42, true));
  proto::put_stmt_id(with, 1, 7);
  CHECK(proto::parse_stmt_execute(with, 2)->stmt_id == 7);
}

TEST_CASE("stmt packets: execute without parameters, and short packets") {
  std::string p = execute_payload(3, false).substr(0, 10);
  auto e = proto::parse_stmt_execute(p, 0);
  REQUIRE(e);
  CHECK(e->bound_flag_at == 0);
  CHECK_FALSE(proto::parse_stmt_execute(p, 1));                      // bitmap missing
  CHECK_FALSE(proto::parse_stmt_execute(execute_payload(3, true).substr(0, 13), 2));  // types cut short
  CHECK_FALSE(proto::parse_stmt_execute(std::string("\x17\x01", 2), 0));
}

TEST_CASE("stmt packets: close packet and prepare OK") {
  std::string raw = proto::stmt_close_packet(0x01020304);
  CHECK(raw == std::string("\x05\x00\x00\x00\x19\x04\x03\x02\x01", 9));
  std::string ok = proto::prepare_ok_payload(9, 2, 3, 1);
  CHECK(ok == std::string("\x00\x09\x00\x00\x00\x02\x00\x03\x00\x00\x01\x00", 12));
  std::string r = raw;
  proto::put_stmt_id(r, proto::kHeaderSize + 1, 77);
  CHECK(r == proto::stmt_close_packet(77));
}
