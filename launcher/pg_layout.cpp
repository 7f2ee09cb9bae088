#include "launcher/pg_layout.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace tdc {

namespace {

namespace fs = std::filesystem;

// A stable 64-bit FNV-1a hash in hex: the same folder always maps to the same fallback.
std::string short_hash(const std::string& text) {
    std::uint64_t hash = 1469598103934665603ull;
    for (unsigned char c : text) {
        hash = (hash ^ c) * 1099511628211ull;
    }
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(hash));
    return out;
}

[[noreturn]] void fail_dir(const fs::path& dir, const std::string& what, int error) {
    throw std::runtime_error("Cannot " + what + " folder " + dir.string() + ": " +
                             std::strerror(error) + ".");
}

// Checks that the open folder `fd` belongs to the caller or to `owner`, then hands it to
// `owner` (when given) with `mode`.
void claim_dir(int fd, const fs::path& dir, const std::optional<RunAs>& owner, mode_t mode) {
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        fail_dir(dir, "inspect", errno);
    }
    bool ours = st.st_uid == geteuid() || (owner && st.st_uid == owner->uid);
    if (!ours) {
        throw std::runtime_error("Folder " + dir.string() + " belongs to uid " +
                                 std::to_string(st.st_uid) +
                                 ", a stranger to this cluster; refusing to use it.");
    }
    if (owner && fchown(fd, owner->uid, owner->gid) != 0) {
        fail_dir(dir, "hand over", errno);
    }
    if (fchmod(fd, mode) != 0) {
        fail_dir(dir, "set the mode of", errno);
    }
}

// Makes `dir` (its parent must exist) a real folder, not a symlink, owned by `owner` or the
// caller, with `mode`. Safe in world-writable parents such as /tmp.
void make_private_dir(const fs::path& dir, const std::optional<RunAs>& owner, mode_t mode) {
    if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
        fail_dir(dir, "create", errno);
    }
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        fail_dir(dir, "open", errno);
    }
    try {
        claim_dir(fd, dir, owner, mode);
    } catch (...) {
        close(fd);
        throw;
    }
    close(fd);
}

// True when `user` may search `dir` and every folder above it.
bool can_enter(const RunAs& user, const fs::path& dir) {
    SpawnOptions options;
    options.run_as = user;
    pid_t pid = spawn({"/usr/bin/test", "-x", dir.string()}, options);
    int status = wait_for_exit(pid);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void write_pointer(const fs::path& requested, const fs::path& base) {
    fs::path file = requested / kPointerFileName;
    std::ofstream out(file, std::ios::trunc);
    out << base.string() << "\n";
    if (!out.flush()) {
        throw std::runtime_error("Cannot write pointer file " + file.string() + ".");
    }
}

fs::path choose_base(const fs::path& requested, const std::optional<RunAs>& runner,
                     spdlog::logger& log) {
    std::error_code ignored;
    if (!runner || can_enter(*runner, requested)) {
        fs::remove(requested / kPointerFileName, ignored);
        return requested;
    }
    fs::path base = fallback_base(requested);
    make_private_dir(base, std::nullopt, 0755);
    write_pointer(requested, base);
    log.warn("pg cluster relocated requested={} location={} reason=\"user {} cannot enter {}\"",
             requested.string(), base.string(), runner->name, requested.string());
    return base;
}

}  // namespace

PgLayout plan_layout(const fs::path& requested, const fs::path& base, int port) {
    PgLayout layout;
    layout.requested = requested;
    layout.base = base;
    layout.cluster = base / "cluster";
    layout.data = layout.cluster / "data";
    layout.socket_dir = layout.cluster / "run";
    layout.server_log = layout.cluster / "server.log";
    layout.tool_log = layout.cluster / "tools.log";
    layout.port = port;
    fs::path socket = layout.socket_dir / (".s.PGSQL." + std::to_string(port));
    if (socket.string().size() > kMaxSocketPath) {
        layout.socket_dir = fs::path("/tmp") / ("tdc-pg-" + short_hash(layout.cluster.string()));
    }
    return layout;
}

fs::path fallback_base(const fs::path& requested) {
    return fs::path("/var/tmp") / ("tinydevcrm-" + short_hash(requested.string()));
}

PgLayout prepare_layout(const fs::path& requested, const std::optional<RunAs>& runner, int port,
                        spdlog::logger& log) {
    std::error_code error;
    fs::create_directories(requested, error);
    if (error) {
        throw std::runtime_error("Cannot create folder " + requested.string() + ": " +
                                 error.message() + ".");
    }

    PgLayout layout = plan_layout(requested, choose_base(requested, runner, log), port);
    make_private_dir(layout.cluster, runner, 0700);
    make_private_dir(layout.socket_dir, runner, 0700);
    return layout;
}

PgLayout find_layout(const fs::path& requested, int port) {
    std::ifstream pointer(requested / kPointerFileName);
    std::string base;
    if (!pointer || !std::getline(pointer, base) || base.empty()) {
        base = requested.string();
    }
    return plan_layout(requested, base, port);
}

}  // namespace tdc
