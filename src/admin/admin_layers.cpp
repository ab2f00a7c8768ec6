// LOAD / SAVE: moving one module's settings between memory (the tables), runtime (the
// proxy's running config) and disk (the JSON config file).
//
//   memory -> runtime  running config with the module's section from the tables, checked
//                      by the config loader (errors name the row), then
//                      Runtime::apply_config() (through admin_sources.cpp). ADMIN VARIABLES
//                      are applied here instead: credentials and log level take effect at
//                      once; listener addresses only at the next start.
//   runtime -> memory  the tables refilled from the running config.
//   disk -> memory     the tables refilled from the config file as it is now.
//   memory -> disk     the config file as it is now, with the module's section from the
//                      tables, checked, then written atomically: a temporary file in the
//                      same directory, fsync, rename over the old one, fsync the directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "admin_internal.h"
#include "sluice/log.h"

namespace sluice::admin {
namespace {

void write_all(int fd, const std::string& text, const std::string& path) {
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw AdminError("cannot write " + path + ": " + std::strerror(errno));
    off += static_cast<size_t>(n);
  }
}

void replace_file_atomically(const std::string& path, const std::string& text) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string tmp = path + ".sluice-tmp." + std::to_string(::getpid());
  struct stat st {};
  mode_t mode = ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw AdminError("cannot create " + tmp + ": " + std::strerror(errno));
  try {
    write_all(fd, text, tmp);
    if (::fsync(fd) != 0) throw AdminError("cannot fsync " + tmp + ": " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw AdminError("cannot replace " + path + ": " + err);
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

Config load_disk(Runtime& rt) {
  const std::string& path = running_config_path(rt);
  if (path.empty()) throw AdminError("no config file: Sluice was started without --config");
  try {
    return load_config_file(path);
  } catch (const ConfigError& e) {
    throw AdminError(std::string("the config file is not valid: ") + e.what());
  }
}

Outcome memory_to_runtime(Module m, Runtime& rt, Database& db, AdminState& state, const Config& running) {
  Config next = config_with_tables(db, m, running);
  if (m == Module::kMysqlVariables || m == Module::kAdminVariables) {
    std::string refused = static_variables_changed(m, running, next);
    if (!refused.empty()) throw AdminError(refused);
  }
  if (m == Module::kAdminVariables) {
    state.admin = next.admin;
    state.log_level = next.log_level;
    log::set_level(next.log_level);
    LOG_INFO("admin: LOAD ADMIN VARIABLES TO RUNTIME (admin user %s, log level %s)", state.admin.user.c_str(),
             state.log_level.c_str());
    return Outcome::ok();
  }
  // The proxy's own admin settings stay as they started: the admin port applies its own.
  Config proxy = running_config(rt);
  next.admin = proxy.admin;
  next.log_level = proxy.log_level;
  std::string err = apply_config(rt, next);
  if (!err.empty()) throw AdminError(describe_config_error(err, config_to_json(next)));
  LOG_INFO("admin: LOAD %s TO RUNTIME applied", module_name(m));
  return Outcome::ok();
}

}  // namespace

Outcome run_layer_command(const LayerCommand& cmd, Runtime& rt, Database& db, AdminState& state,
                          const Config& running) {
  try {
    switch (cmd.move) {
      case Move::kMemoryToRuntime: return memory_to_runtime(cmd.module, rt, db, state, running);
      case Move::kRuntimeToMemory: write_tables(db, cmd.module, Layer::kMemory, running); return Outcome::ok();
      case Move::kDiskToMemory: write_tables(db, cmd.module, Layer::kMemory, load_disk(rt)); return Outcome::ok();
      case Move::kMemoryToDisk: {
        Config next = config_with_tables(db, cmd.module, load_disk(rt));
        replace_file_atomically(running_config_path(rt), config_to_json(next));
        LOG_INFO("admin: SAVE %s TO DISK wrote %s", module_name(cmd.module), running_config_path(rt).c_str());
        return Outcome::ok();
      }
    }
  } catch (const AdminError& e) {
    return Outcome::fail(1105, "HY000", e.what());
  }
  return Outcome::ok();
}

}  // namespace sluice::admin
