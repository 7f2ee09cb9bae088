// The threads launch mode: every stage on its own thread of this process, one ZeroMQ context
// shared by all (inproc:// endpoints need it), supervised like the stage processes are:
// restarted with the same backoff, given up after the same quick failures, stopped one stage
// at a time in reverse start order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/logger.h>
#include <zmq.hpp>

#include "common/config.hpp"
#include "common/stop.hpp"
#include "launcher/status_report.hpp"
#include "launcher/supervisor.hpp"

namespace tdc {

// Runs the stage called `stage` (one of kStageNames) of `config` on `context` until `stop`
// fires and returns its exit code; may throw. The launcher's seam to the stage classes
// (app/stages.cpp), which picks the endpoints with in_process_endpoints().
using StageBody = std::function<int(const std::string& stage, const Config& config,
                                    zmq::context_t& context, StopSignal& stop)>;

// The endpoints the stages of one process use among themselves: inproc:// ones when the
// broker runs in this process (config.processes["broker"] > 0), else the configured ones.
Endpoints in_process_endpoints(const Config& config);

class ThreadSupervisor {
public:
    // Plans config.processes[stage] threads of `body` for each stage, in kStageNames order.
    // Starts nothing yet. While running, reports the threads to the broker every second.
    ThreadSupervisor(const Config& config, StageBody body, std::shared_ptr<spdlog::logger> log,
                     SupervisorPolicy policy = {});
    // Joins every thread (after run() they have all ended, unless stuck() is true: then this
    // waits for them).
    ~ThreadSupervisor();
    ThreadSupervisor(const ThreadSupervisor&) = delete;
    ThreadSupervisor& operator=(const ThreadSupervisor&) = delete;

    // Starts every thread, then supervises until `stop` fires or no thread is left (all given
    // up), then stops them stage by stage in reverse start order within policy.stop_timeout.
    // A broker thread that ends takes every other stage down and up again with it, since
    // inproc:// connections do not reconnect to a new broker. Returns 0 after a clean stop on
    // request; 1 when none was left or a thread did not stop in time (see stuck()).
    int run(StopSignal& stop);

    // True when a thread outlived its stop: a thread cannot be killed alone, so the caller
    // should end the process without waiting for it.
    bool stuck() const { return stuck_; }

private:
    using Clock = std::chrono::steady_clock;

    // One planned thread: instance `instance` (1-based) of `stage`.
    struct Slot {
        std::string stage;
        int instance;
        RestartTracker restarts;
        std::thread thread{};
        std::unique_ptr<StopSignal> stop{};  // a fresh one per start
        bool running = false;                // started and not yet joined
        bool ended = false;                  // the body returned or threw; guarded by mutex_
        std::string outcome{};               // "exit_code=0" or "exception=\"...\""; by mutex_
        long tid = 0;                        // the thread's Linux id, for /status and logs
        Clock::time_point started_at{};
        Clock::time_point next_start{};
        bool given_up = false;
        int restart_count = 0;  // starts after the first
    };

    void start(Slot& slot);
    void body(Slot& slot, StopSignal& stop);
    void reap();
    void on_end(Slot& slot, const std::string& outcome);
    void restart_with_broker(Clock::time_point at);
    void restart_due();
    bool any_left() const;
    nlohmann::json describe_slots();
    bool stop_all();
    bool stop_stage(const std::string& stage, Clock::time_point deadline);
    bool finish(Slot& slot, Clock::time_point deadline);

    zmq::context_t context_;  // first: outlives every socket of the threads and the reporter
    Config config_;
    StageBody body_;
    std::shared_ptr<spdlog::logger> log_;
    SupervisorPolicy policy_;
    bool local_broker_;        // the broker is one of the threads, so the others use inproc://
    std::vector<Slot> slots_;  // never resized after the constructor: threads hold &slot
    std::mutex mutex_;
    std::condition_variable ended_;
    std::optional<StatusReporter> reporter_;  // made anew with the broker: inproc:// again
    bool stuck_ = false;
};

}  // namespace tdc
