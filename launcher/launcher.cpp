#include "launcher/launcher.hpp"

#include <cstdlib>
#include <iostream>
#include <optional>

#include "common/db.hpp"
#include "launcher/embedded_pg.hpp"

namespace tdc {

namespace {

// Starts the embedded cluster in `pg` and hands its conninfo to the stages to come: to
// processes in the environment, to threads in `config`. Returns false (logged) when it
// cannot start.
bool start_embedded(std::optional<EmbeddedPostgres>& pg, Config& config,
                    const std::shared_ptr<spdlog::logger>& log) {
    pg.emplace(config.data_dir / "pg", log);
    try {
        std::string conninfo = pg->start();
        setenv("TINYDEVCRM_DATABASE_URL", conninfo.c_str(), 1);  // before any thread starts
        config.database_url = conninfo;
        log->info("launcher database=embedded conninfo=\"{}\"", conninfo);
        return true;
    } catch (const std::exception& e) {
        log->error("pg start failed dir={} reason=\"{}\"", (config.data_dir / "pg").string(),
                   e.what());
        return false;
    }
}

// Stops the cluster in `pg` if there is one. Returns false (logged) when that fails.
bool stop_embedded(std::optional<EmbeddedPostgres>& pg,
                   const std::shared_ptr<spdlog::logger>& log) {
    if (!pg) {
        return true;
    }
    try {
        pg->stop();
        return true;
    } catch (const std::exception& e) {
        log->error("pg stop failed dir={} reason=\"{}\"", pg->layout().cluster.string(), e.what());
        return false;
    }
}

// Runs every stage on a thread of this process until `stop`. When a thread could not be
// stopped, stops the cluster in `pg` and ends the process: returning would wait for it.
int run_threads(const Config& config, const StageBody& in_thread, StopSignal& stop,
                std::optional<EmbeddedPostgres>& pg, const std::shared_ptr<spdlog::logger>& log,
                SupervisorPolicy policy) {
    ThreadSupervisor supervisor(config, in_thread, log, policy);
    int code = supervisor.run(stop);
    if (supervisor.stuck()) {
        stop_embedded(pg, log);
        log->error("launcher stopped exit_code=1 reason=\"a stage thread did not stop\"");
        log->flush();
        std::_Exit(1);
    }
    return code;
}

}  // namespace

bool needs_database(const Config& config) {
    for (const auto& stage : kDatabaseStages) {
        auto count = config.processes.find(stage);
        if (count != config.processes.end() && count->second > 0) {
            return true;
        }
    }
    return false;
}

int launch(const Config& config, const std::filesystem::path& self_exe, const StageBody& in_thread,
           StopSignal& stop, std::shared_ptr<spdlog::logger> log, SupervisorPolicy policy) {
    Config running = config;
    std::optional<EmbeddedPostgres> pg;
    if (config.database_url) {
        log->info("launcher database=external url={}", redact_url(*config.database_url));
    } else if (!needs_database(config)) {
        log->info("launcher database=none reason=\"no stage of this host uses one\"");
    } else if (!start_embedded(pg, running, log)) {
        return 1;
    }

    int code = 0;
    bool threads = config.launch_mode == LaunchMode::kThreads;
    log->info("launcher mode={}", threads ? "threads" : "processes");
    if (!stop.requested() && threads) {
        code = run_threads(running, in_thread, stop, pg, log, policy);
    } else if (!stop.requested()) {
        Supervisor supervisor(running, self_exe, log, policy);
        code = supervisor.run(stop);
    }
    if (!stop_embedded(pg, log)) {
        code = 1;
    }
    log->info("launcher stopped exit_code={}", code);
    return code;
}

int pg_command(const std::string& action, const std::filesystem::path& dir,
               std::shared_ptr<spdlog::logger> log) {
    if (action != "start" && action != "stop") {
        log->error("pg unknown action action={} expected=start|stop", action);
        return 2;
    }
    try {
        EmbeddedPostgres pg(dir, log);
        if (action == "stop") {
            pg.stop(true);
            return 0;
        }
        std::string conninfo = pg.start();
        pg.keep_running();
        std::cout << conninfo << std::endl;
        return 0;
    } catch (const std::exception& e) {
        log->error("pg {} failed dir={} reason=\"{}\"", action, dir.string(), e.what());
        return 1;
    }
}

}  // namespace tdc
