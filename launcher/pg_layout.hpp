// Where the files of an embedded PostgreSQL cluster live, and making those folders safely.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "launcher/process.hpp"

namespace tdc {

// The folders and files of one cluster. The cluster folder is private to the OS user that
// runs the server (mode 0700), so the socket in it needs no password.
struct PgLayout {
    std::filesystem::path requested;   // the folder the caller asked for
    std::filesystem::path base;        // `requested`, or a fallback the server's user can enter
    std::filesystem::path cluster;     // base/cluster: owned by the server's user, mode 0700
    std::filesystem::path data;        // cluster/data: the data directory (PGDATA)
    std::filesystem::path socket_dir;  // cluster/run, or a short private folder under /tmp
    std::filesystem::path server_log;  // cluster/server.log: the server's own output
    std::filesystem::path tool_log;    // cluster/tools.log: the output of initdb and pg_ctl
    int port = 5432;                   // part of the socket file name only; no TCP
};

// The file in `requested` that names the fallback base folder when the cluster moved there.
inline constexpr const char* kPointerFileName = "cluster-location";

// Longest Unix socket path the kernel accepts (sun_path minus its terminating NUL).
inline constexpr std::size_t kMaxSocketPath = 107;

// Computes the paths for a cluster whose base folder is `base`; touches nothing. The socket
// folder moves to /tmp/tdc-pg-<hash> when <cluster>/run/.s.PGSQL.<port> would be too long.
PgLayout plan_layout(const std::filesystem::path& requested, const std::filesystem::path& base,
                     int port);

// The fallback base folder for `requested`: /var/tmp/tinydevcrm-<hash of requested>.
std::filesystem::path fallback_base(const std::filesystem::path& requested);

// Creates the folders of the cluster for `requested`, owned by `runner` when given (the
// caller is root) or by the caller. When `runner` cannot enter `requested`, the cluster goes
// to fallback_base() instead, which is logged and recorded in the pointer file.
// Throws std::runtime_error naming the folder and the OS reason when a folder cannot be made
// or an existing one belongs to a stranger.
PgLayout prepare_layout(const std::filesystem::path& requested, const std::optional<RunAs>& runner,
                        int port, spdlog::logger& log);

// The layout of an existing cluster for `requested`, following its pointer file if any.
// Creates nothing.
PgLayout find_layout(const std::filesystem::path& requested, int port);

}  // namespace tdc
