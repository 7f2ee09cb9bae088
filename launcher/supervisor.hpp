// Runs the stages as child processes: starts them in order, restarts those that die with
// backoff, gives up on those that keep dying, and stops them all in reverse order.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "common/config.hpp"
#include "common/stop.hpp"
#include "launcher/status_report.hpp"

namespace tdc {

struct SupervisorPolicy {
    std::chrono::milliseconds first_backoff{500};     // delay before the first restart
    std::chrono::milliseconds max_backoff{10000};     // the doubling delay stops growing here
    std::chrono::milliseconds healthy_uptime{30000};  // exiting after this long resets the delay
    std::chrono::milliseconds quick_exit{5000};       // exiting sooner is a quick failure
    int max_quick_failures = 5;                       // in a row, before giving up on a process
    std::chrono::milliseconds stop_timeout{10000};    // for the ordered stop of all stages
    std::chrono::milliseconds poll_interval{200};     // how often exits are collected
    // A stage that did not stop in time has used the others' time: each stage after it gets
    // this long of its own, so that only a stage that is itself slow is killed or named stuck.
    std::chrono::milliseconds late_stop_grace{2000};
};

// Decides when one stage process that exited starts again.
class RestartTracker {
public:
    explicit RestartTracker(const SupervisorPolicy& policy);

    // Records an exit after `uptime`. Returns the delay before the next start, or nullopt when
    // this is the max_quick_failures-th quick failure in a row: give up.
    std::optional<std::chrono::milliseconds> on_exit(std::chrono::milliseconds uptime);

private:
    SupervisorPolicy policy_;
    std::chrono::milliseconds backoff_;
    int quick_failures_ = 0;
};

class Supervisor {
public:
    // Plans config.processes[stage] processes of `self_exe <stage> --config <config.file>` for
    // each stage, in kStageNames order. Starts nothing yet. While running, reports the
    // processes to the broker at config.endpoints.bus every second (see StatusReporter).
    Supervisor(const Config& config, std::filesystem::path self_exe,
               std::shared_ptr<spdlog::logger> log, SupervisorPolicy policy = {});
    // Kills and reaps any child still running (only after run() threw).
    ~Supervisor();
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    // Starts every process, then supervises until `stop` is requested or no process is left
    // (all given up), then stops them in reverse start order within policy.stop_timeout,
    // killing those that outlast it. Returns 0 after a clean stop on request; 1 when a process
    // had to be killed or none was left.
    int run(StopSignal& stop);

private:
    using Clock = std::chrono::steady_clock;

    // One planned process: instance `instance` (1-based) of `stage`.
    struct Slot {
        std::string stage;
        int instance;
        RestartTracker restarts;
        pid_t pid = 0;  // 0 while not running
        Clock::time_point started_at{};
        Clock::time_point next_start{};
        bool given_up = false;
        int restart_count = 0;  // starts after the first
    };

    void start(Slot& slot);
    void reap();
    void on_exit(Slot& slot, int status);
    void restart_due();
    bool any_left() const;
    nlohmann::json describe_slots() const;
    bool stop_all();
    bool stop_stage(const std::string& stage, Clock::time_point deadline);
    bool finish(Slot& slot, Clock::time_point deadline);

    std::filesystem::path self_exe_;
    std::filesystem::path config_file_;
    std::shared_ptr<spdlog::logger> log_;
    SupervisorPolicy policy_;
    std::vector<Slot> slots_;
    zmq::context_t context_{1};  // the reporter's; declared before it, so it outlives it
    StatusReporter reporter_;
};

}  // namespace tdc
