// A private PostgreSQL cluster for running tinydevcrm without a database server of one's own.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "launcher/pg_layout.hpp"
#include "launcher/process.hpp"

namespace tdc {

// The database the embedded cluster serves to the stages.
inline constexpr const char* kEmbeddedDatabase = "tinydevcrm";

// A private PostgreSQL cluster in `dir` (created on first start), listening only on a Unix
// socket in a folder that only the server's OS user can enter, with trust authentication.
// When run as root, the server runs as the OS user `postgres` (PostgreSQL refuses root); if
// that user cannot enter `dir`, the cluster lives in a fallback folder (see pg_layout.hpp).
// Uses the server binaries of the highest PostgreSQL major in /usr/lib/postgresql.
class EmbeddedPostgres {
public:
    EmbeddedPostgres(std::filesystem::path dir, std::shared_ptr<spdlog::logger> log,
                     int port = 5432);
    // Stops the cluster if this object started it, unless keep_running() was called.
    ~EmbeddedPostgres();
    EmbeddedPostgres(const EmbeddedPostgres&) = delete;
    EmbeddedPostgres& operator=(const EmbeddedPostgres&) = delete;

    // Creates the cluster when missing (initdb), starts it (pg_ctl -w) and creates database
    // `tinydevcrm` when missing. Returns a libpq conninfo string for that database, e.g.
    // "host=/x/cluster/run port=5432 dbname=tinydevcrm user=postgres". Idempotent: when the
    // server is already running (its postmaster.pid names a live process), only returns the
    // conninfo, and this object does not count as having started it.
    // Throws std::runtime_error with a full sentence (command, exit status, the last lines of
    // its log) on failure.
    std::string start();

    // Stops the cluster (pg_ctl stop -m fast -w) if this object started it, or when `force`
    // is set, whoever started it. Does nothing when it is not running.
    // Throws std::runtime_error like start().
    void stop(bool force = false);

    // Leaves the cluster running when this object is destroyed.
    void keep_running() { keep_running_ = true; }

    // Where the cluster's files are. Valid after start() or stop().
    const PgLayout& layout() const { return layout_; }

private:
    void resolve_tools();
    bool server_running() const;
    void init_cluster();
    void write_settings();
    void start_server();
    void create_database();
    std::string conninfo(const std::string& database) const;
    void run_tool(const std::string& tool, const std::vector<std::string>& args,
                  const std::vector<std::filesystem::path>& logs);

    std::filesystem::path dir_;
    std::shared_ptr<spdlog::logger> log_;
    int port_;
    std::optional<RunAs> runner_;  // the server's OS user when we are root
    std::filesystem::path bin_dir_;
    PgLayout layout_;
    bool started_ = false;
    bool keep_running_ = false;
};

}  // namespace tdc
