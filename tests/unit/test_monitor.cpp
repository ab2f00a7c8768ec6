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

using sluice::HealthInputs;
using sluice::HealthState;
using sluice::next_health;
using sluice::parse_gtid_list;

TEST_CASE("GTID lists parse per domain") {
  auto g = parse_gtid_list("0-13306-57,1-2-7");
  REQUIRE(g.size() == 2);
  CHECK(g[0].domain == 0);
  CHECK(g[0].server_id == 13306);
  CHECK(g[0].seq == 57);
  CHECK(g[1].domain == 1);
  CHECK(g[1].seq == 7);
  CHECK(parse_gtid_list("").empty());
  CHECK(parse_gtid_list("0-1").empty());
  CHECK(parse_gtid_list("0-1-x").empty());
  CHECK(parse_gtid_list("0-1-5, 2-3-4").size() == 2);
}

TEST_CASE("health: failures shun, recovery waits for shun_recovery_ms") {
  HealthInputs in;
  in.max_failures = 2;
  in.check_ok = false;
  in.consecutive_failures = 1;
  CHECK(next_health(in) == HealthState::kOnline);  // one failure of two allowed
  in.consecutive_failures = 2;
  CHECK(next_health(in) == HealthState::kShunned);

  in = HealthInputs{};
  in.current = HealthState::kShunned;
  in.check_ok = true;
  in.shunned_since_ms = 1000;
  in.recovery_ms = 500;
  in.now_ms = 1400;
  CHECK(next_health(in) == HealthState::kShunned);
  in.now_ms = 1500;
  CHECK(next_health(in) == HealthState::kOnline);
}

TEST_CASE("health: replication lag over max_replication_lag, NULL counts as 60 s") {
  HealthInputs in;
  in.replica = true;
  in.max_lag_s = 5;
  in.lag_s = 3;
  CHECK(next_health(in) == HealthState::kOnline);
  in.lag_s = 6;
  CHECK(next_health(in) == HealthState::kShunnedReplicationLag);
  in.lag_s.reset();  // replication stopped
  CHECK(next_health(in) == HealthState::kShunnedReplicationLag);
  in.max_lag_s = 0;  // no limit configured
  CHECK(next_health(in) == HealthState::kOnline);
  in.max_lag_s = 5;
  in.replica = false;  // not a replica: lag does not apply
  CHECK(next_health(in) == HealthState::kOnline);
  in.replica = true;
  in.lag_s = 1;
  in.current = HealthState::kShunnedReplicationLag;  // caught up
  CHECK(next_health(in) == HealthState::kOnline);
}
