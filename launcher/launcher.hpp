// The `run` and `pg` subcommands: the whole pipeline under one supervising process, and the
// embedded PostgreSQL cluster on its own for scripts and tests.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "common/config.hpp"
#include "common/stop.hpp"
#include "launcher/supervisor.hpp"
#include "launcher/thread_supervisor.hpp"

namespace tdc {

// True when config.processes starts any of kDatabaseStages on this host.
bool needs_database(const Config& config);

// Runs the pipeline until `stop` fires. Without config.database_url, and when the stages of
// this host need one, first starts the embedded cluster in config.data_dir/pg and exports its
// conninfo to the stages (as TINYDEVCRM_DATABASE_URL to processes). Then, by
// config.launch_mode, runs `self_exe <stage> --config <config.file>` for every stage (see
// Supervisor), or `in_thread` on a thread per stage (see ThreadSupervisor), and once they
// stopped, stops the cluster it started. A stage thread that cannot be stopped makes it end the
// process with exit code 1 after the cluster stopped, without returning.
// Returns the process exit code: 0 after a clean stop; 1 when the cluster failed to start or
// stop, a stage had to be killed, or every stage was given up.
int launch(const Config& config, const std::filesystem::path& self_exe, const StageBody& in_thread,
           StopSignal& stop, std::shared_ptr<spdlog::logger> log, SupervisorPolicy policy = {});

// `tinydevcrm pg start|stop --dir DIR`. "start" starts the embedded cluster in `dir` (creating
// it when missing), prints its conninfo as the only line on stdout and leaves it running;
// "stop" stops it whoever started it. Returns 0 on success, 1 on failure (logged), 2 for an
// unknown action.
int pg_command(const std::string& action, const std::filesystem::path& dir,
               std::shared_ptr<spdlog::logger> log);

}  // namespace tdc
