// TCP listening and accepting for Sluice's own ports (client port workers, admin port).
//
// Thread rules: plain functions over file descriptors.
#pragma once

#include <cstdint>
#include <string>

namespace sluice::net {

// A non-blocking IPv4 listening socket on address:port (SO_REUSEADDR; SO_REUSEPORT when
// `reuse_port`, so several workers can each have their own accept queue). -1 with
// *error = "<what>: ..." when the address is not IPv4 or the port cannot be bound.
int listen_tcp(const std::string& address, uint16_t port, bool reuse_port, int backlog, const std::string& what,
               std::string* error);

// The next pending connection, non-blocking with TCP_NODELAY, and its peer; -1 when there
// is none (running out of descriptors is logged under `what`).
int accept_tcp(int listen_fd, std::string* peer_ip, uint16_t* peer_port, const char* what);

}  // namespace sluice::net
