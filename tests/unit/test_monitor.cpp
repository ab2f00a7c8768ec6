// Monitor: reading Seconds_Behind_Master out of a SHOW SLAVE STATUS row.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sluice/monitor.h"

using sluice::seconds_behind_master;

TEST_CASE("Seconds_Behind_Master is found by column name") {
  std::vector<std::string> cols = {"Slave_IO_State", "Master_Host", "Seconds_Behind_Master", "Last_Error"};
  CHECK(seconds_behind_master(cols, {"Waiting", "127.0.0.1", "0", ""}) == 0);
  CHECK(seconds_behind_master(cols, {"Waiting", "127.0.0.1", "42", ""}) == 42);
}

TEST_CASE("NULL, garbage or a missing column mean unknown") {
  std::vector<std::string> cols = {"Slave_IO_State", "Seconds_Behind_Master"};
  CHECK_FALSE(seconds_behind_master(cols, {"", nullptr}).has_value());
  CHECK_FALSE(seconds_behind_master(cols, {"", "12x"}).has_value());
  CHECK_FALSE(seconds_behind_master(cols, {"", "-1"}).has_value());
  CHECK_FALSE(seconds_behind_master({"Slave_IO_State"}, {""}).has_value());
  CHECK_FALSE(seconds_behind_master(cols, {""}).has_value());  // short row
}
