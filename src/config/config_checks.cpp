// Config checks that span sections (hostgroups named by rules, users and replication
// pairs; duplicates; listeners): run after a file is read, and on a Config built in code
// (the admin port's LOAD ... TO RUNTIME) through validate_config().
#include <re2/re2.h>

#include <tuple>

#include "config_internal.h"
#include "sluice/config.h"

namespace sluice {
namespace {

using config_detail::fail;
using config_detail::item;

bool hostgroup_exists(const Config& c, uint32_t hg) {
  if (hg == c.routing.writer_hostgroup || hg == c.routing.reader_hostgroup) return true;
  for (const auto& s : c.servers)
    if (s.hostgroup == hg) return true;
  for (const auto& r : c.replication_hostgroups)
    if (r.writer_hostgroup == hg || r.reader_hostgroup == hg) return true;
  return false;
}

void check_rules(const Config& c) {
  for (size_t i = 0; i < c.query_rules.size(); ++i) {
    const QueryRuleConfig& r = c.query_rules[i];
    std::string p = item("query_rules", i);
    for (size_t j = 0; j < i; ++j) {
      if (c.query_rules[j].rule_id == r.rule_id) {
        fail(p + ".rule_id", std::to_string(r.rule_id) + " is already used by " + item("query_rules", j));
      }
    }
    if (r.destination_hostgroup && !hostgroup_exists(c, *r.destination_hostgroup)) {
      fail(p + ".destination_hostgroup", "hostgroup " + std::to_string(*r.destination_hostgroup) +
                                             " has no servers and is not a replication hostgroup");
    }
    RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_case_sensitive(r.re_modifiers.find("CASELESS") == std::string::npos &&
                            r.re_modifiers.find("caseless") == std::string::npos);
    for (const auto& [key, pattern] : {std::pair<const char*, const std::string*>{"match_pattern", &r.match_pattern},
                                       {"match_digest", &r.match_digest}}) {
      if (pattern->empty()) continue;
      RE2 re(*pattern, opts);
      if (!re.ok()) fail(p + "." + key, "invalid regular expression: " + re.error());
    }
  }
}

void check_users(const Config& c) {
  for (size_t i = 0; i < c.users.size(); ++i) {
    const auto& u = c.users[i];
    if (u.default_hostgroup && !hostgroup_exists(c, *u.default_hostgroup)) {
      fail(item("users", i) + ".default_hostgroup",
           "hostgroup " + std::to_string(*u.default_hostgroup) + " has no servers");
    }
    for (size_t j = 0; j < i; ++j) {
      if (c.users[j].username == u.username) {
        fail(item("users", i) + ".username", "\"" + u.username + "\" is already defined by " + item("users", j));
      }
    }
  }
}

void check_replication_hostgroups(const Config& c) {
  for (size_t i = 0; i < c.replication_hostgroups.size(); ++i) {
    const auto& r = c.replication_hostgroups[i];
    std::string p = item("replication_hostgroups", i);
    if (r.writer_hostgroup == r.reader_hostgroup) {
      fail(p + ".reader_hostgroup", "must differ from writer_hostgroup (" + std::to_string(r.writer_hostgroup) + ")");
    }
    for (size_t j = 0; j < i; ++j) {
      const auto& o = c.replication_hostgroups[j];
      for (uint32_t hg : {r.writer_hostgroup, r.reader_hostgroup}) {
        if (hg == o.writer_hostgroup || hg == o.reader_hostgroup) {
          fail(p, "hostgroup " + std::to_string(hg) + " is already used by " + item("replication_hostgroups", j));
        }
      }
    }
  }
}

void check_topology(const Config& c) {
  const uint32_t writer = c.routing.writer_hostgroup;
  const uint32_t reader = c.routing.reader_hostgroup;
  if (writer == reader) {
    fail("routing.reader_hostgroup",
         "must differ from routing.writer_hostgroup (" + std::to_string(writer) + ")");
  }
  if (c.users.empty()) fail("users", "at least one user is required");
  if (c.servers.empty()) fail("servers", "at least one server is required");
  // The monitor finds the writer among a replication pair's servers by read_only.
  bool detected_writer = false;
  for (const auto& r : c.replication_hostgroups) {
    if (r.writer_hostgroup != writer) continue;
    for (const auto& s : c.servers)
      detected_writer = detected_writer || s.hostgroup == r.writer_hostgroup || s.hostgroup == r.reader_hostgroup;
  }
  bool has_writer = detected_writer;
  for (size_t i = 0; i < c.servers.size(); ++i) {
    const ServerConfig& s = c.servers[i];
    has_writer = has_writer || s.hostgroup == writer;
    for (size_t j = 0; j < i; ++j) {
      const ServerConfig& o = c.servers[j];
      if (std::tie(o.hostgroup, o.host, o.port) == std::tie(s.hostgroup, s.host, s.port)) {
        fail(item("servers", i), "same hostgroup, host and port as " + item("servers", j));
      }
    }
  }
  check_users(c);
  check_replication_hostgroups(c);
  check_rules(c);
  if (!has_writer) {
    fail("servers", "no server in the writer hostgroup (routing.writer_hostgroup = " +
                        std::to_string(writer) + "); at least one is required");
  }
}

bool is_wildcard(const std::string& address) {
  return address == "0.0.0.0" || address == "::" || address == "[::]";
}

void check_listeners(const Config& c) {
  const std::pair<const char*, const Endpoint*> listeners[] = {
      {"frontend.listen", &c.frontend.listen},
      {"admin.listen", &c.admin.listen},
      {"metrics.listen", &c.metrics.listen},
  };
  for (size_t i = 0; i < std::size(listeners); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const Endpoint& a = *listeners[i].second;
      const Endpoint& b = *listeners[j].second;
      bool overlap = a.address == b.address || is_wildcard(a.address) || is_wildcard(b.address);
      if (a.port == b.port && overlap) {
        fail(std::string(listeners[i].first) + ".port",
             "port " + std::to_string(a.port) + " is already used by " + listeners[j].first);
      }
    }
  }
}

}  // namespace

void validate_config(const Config& c) {
  check_topology(c);
  check_listeners(c);
}

}  // namespace sluice
