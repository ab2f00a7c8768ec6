// Session variables a client set, as the server reported them (session tracking), and
// the SET that makes a borrowed backend connection match.
//
// Owns: a small sorted name -> value list. Names absent from the list are at the server's
// global default. Values are the server's own text (time_zone "+05:00", sql_mode "...").
// Thread rules: plain value type.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

// The variables backends report on change (session_track_system_variables) and Sluice
// replays. Others changed by SET pin the client to its connection.
std::string_view tracked_variables();

class SessionVars {
 public:
  void set(std::string_view name, std::string_view value);
  const std::string* get(std::string_view name) const;
  // The character set variables a handshake collation implies (as SET NAMES would).
  void set_charset(unsigned collation_id);

  // Assignments that turn `have` into this set: "a='v', b=DEFAULT" (empty when equal).
  std::string diff_from(const SessionVars& have) const;
  bool operator==(const SessionVars& o) const { return vars_ == o.vars_; }

 private:
  void append_charset_diff(std::string& out, const SessionVars& have) const;
  std::vector<std::pair<std::string, std::string>> vars_;  // sorted by name
};

}  // namespace sluice
