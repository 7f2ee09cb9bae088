#include "launcher/thread_supervisor.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>

namespace tdc {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// The thread's name in /proc/<pid>/task/<tid>/comm (at most 15 characters). Threads a stage
// starts inherit it, so every thread of the process shows which stage it serves.
std::string thread_name(const std::string& stage) {
    return ("tdc-" + stage).substr(0, 15);
}

// True when `config` runs the broker in this launcher.
bool runs_broker(const Config& config) {
    auto broker = config.processes.find("broker");
    return broker != config.processes.end() && broker->second > 0;
}

}  // namespace

Endpoints in_process_endpoints(const Config& config) {
    if (!runs_broker(config)) {
        return config.endpoints;
    }
    Endpoints local;
    local.bus = "inproc://tdc-bus";
    local.events_in = "inproc://tdc-events-in";
    local.events_out = "inproc://tdc-events-out";
    return local;
}

ThreadSupervisor::ThreadSupervisor(const Config& config, StageBody body,
                                   std::shared_ptr<spdlog::logger> log, SupervisorPolicy policy)
    : config_(config),
      body_(std::move(body)),
      log_(std::move(log)),
      policy_(policy),
      local_broker_(runs_broker(config)) {
    reporter_.emplace(context_, in_process_endpoints(config_).bus);
    for (const auto& stage : kStageNames) {
        auto count = config.processes.find(stage);
        int instances = count == config.processes.end() ? 0 : count->second;
        for (int instance = 1; instance <= instances; ++instance) {
            slots_.push_back(Slot{stage, instance, RestartTracker(policy_)});
        }
    }
}

ThreadSupervisor::~ThreadSupervisor() {
    for (auto& slot : slots_) {
        if (slot.stop) {
            slot.stop->request();
        }
        if (slot.thread.joinable()) {
            slot.thread.join();
        }
    }
}

int ThreadSupervisor::run(StopSignal& stop) {
    for (auto& slot : slots_) {
        start(slot);
    }
    while (!stop.wait_for(policy_.poll_interval)) {
        reap();
        if (stuck_) {
            log_->error("launcher stopping reason=\"a stage thread did not stop\"");
            stop_all();
            return 1;
        }
        restart_due();
        reporter_->report_if_due(describe_slots());
        if (!any_left()) {
            log_->error("launcher has no stages left to run");
            return 1;
        }
    }

    log_->info("launcher stopping reason=signal");
    return stop_all() ? 0 : 1;
}

void ThreadSupervisor::start(Slot& slot) {
    if (slot.stage == "broker" && local_broker_ && slot.restart_count > 0) {
        reporter_.emplace(context_, in_process_endpoints(config_).bus);  // the old one is cut off
    }
    slot.stop = std::make_unique<StopSignal>(StopSignal::OnRequest{});
    {
        std::lock_guard<std::mutex> lock(mutex_);
        slot.ended = false;
        slot.outcome.clear();
        slot.tid = 0;
    }
    slot.started_at = Clock::now();
    try {
        slot.thread = std::thread([this, &slot, stop = slot.stop.get()] { body(slot, *stop); });
    } catch (const std::system_error& e) {
        log_->error("stage start failed stage={} instance={} reason=\"{}\"", slot.stage,
                    slot.instance, e.what());
        on_end(slot, "exception=\"thread not started\"");  // counts as a stage that failed at once
        return;
    }
    slot.running = true;
    log_->info("stage started stage={} thread={} instance={}", slot.stage, thread_name(slot.stage),
               slot.instance);
}

// What runs on the stage's thread: the stage, and a record of how it ended.
void ThreadSupervisor::body(Slot& slot, StopSignal& stop) {
    pthread_setname_np(pthread_self(), thread_name(slot.stage).c_str());
    {
        std::lock_guard<std::mutex> lock(mutex_);
        slot.tid = static_cast<long>(gettid());
    }
    std::string outcome;
    try {
        outcome = "exit_code=" + std::to_string(body_(slot.stage, config_, context_, stop));
    } catch (const std::exception& e) {
        outcome = std::string("exception=\"") + e.what() + "\"";
    } catch (...) {
        outcome = "exception=unknown";
    }
    std::lock_guard<std::mutex> lock(mutex_);
    slot.ended = true;
    slot.outcome = std::move(outcome);
    ended_.notify_all();
}

void ThreadSupervisor::reap() {
    for (auto& slot : slots_) {
        if (!slot.running) {
            continue;
        }
        std::string outcome;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!slot.ended) {
                continue;
            }
            outcome = slot.outcome;
        }
        slot.thread.join();
        slot.running = false;
        on_end(slot, outcome);
    }
}

void ThreadSupervisor::on_end(Slot& slot, const std::string& outcome) {
    auto uptime = duration_cast<milliseconds>(Clock::now() - slot.started_at);
    auto delay = slot.restarts.on_exit(uptime);
    if (!delay) {
        slot.given_up = true;
        log_->error("stage given up stage={} tid={} instance={} {} uptime_ms={} failures={}",
                    slot.stage, slot.tid, slot.instance, outcome, uptime.count(),
                    policy_.max_quick_failures);
        return;
    }
    slot.next_start = Clock::now() + *delay;
    log_->warn("stage exited stage={} tid={} instance={} {} uptime_ms={} restart_in_ms={}",
               slot.stage, slot.tid, slot.instance, outcome, uptime.count(), delay->count());
    if (slot.stage == "broker" && local_broker_) {
        restart_with_broker(slot.next_start);
    }
}

// Stops every running stage thread and plans its start for `at`, when the broker starts again:
// an inproc:// connection does not reconnect to a socket bound anew, so every stage must
// connect again. Not counted as a failure of those stages.
void ThreadSupervisor::restart_with_broker(Clock::time_point at) {
    auto deadline = Clock::now() + policy_.stop_timeout;
    for (auto stage = kStageNames.rbegin(); stage != kStageNames.rend(); ++stage) {
        if (*stage != "broker") {
            stop_stage(*stage, deadline);
        }
    }
    for (auto& slot : slots_) {
        if (slot.stage != "broker" && !slot.given_up && !slot.running) {
            slot.next_start = std::max(slot.next_start, at);
            log_->warn("stage restarting with the broker stage={} instance={} restart_in_ms={}",
                       slot.stage, slot.instance,
                       duration_cast<milliseconds>(slot.next_start - Clock::now()).count());
        }
    }
}

void ThreadSupervisor::restart_due() {
    auto now = Clock::now();
    for (auto& slot : slots_) {
        if (!slot.running && !slot.given_up && now >= slot.next_start) {
            ++slot.restart_count;
            start(slot);
        }
    }
}

bool ThreadSupervisor::any_left() const {
    return std::any_of(slots_.begin(), slots_.end(),
                       [](const Slot& slot) { return !slot.given_up; });
}

nlohmann::json ThreadSupervisor::describe_slots() {
    std::lock_guard<std::mutex> lock(mutex_);
    nlohmann::json stages = nlohmann::json::array();
    for (const auto& slot : slots_) {
        bool up = slot.running && !slot.ended;
        long long uptime_ms =
            up ? duration_cast<milliseconds>(Clock::now() - slot.started_at).count() : 0;
        stages.push_back({{"stage", slot.stage},
                          {"instance", slot.instance},
                          {"pid", up ? getpid() : 0},
                          {"tid", up ? slot.tid : 0},
                          {"up", up},
                          {"restarts", slot.restart_count},
                          {"given_up", slot.given_up},
                          {"uptime_ms", uptime_ms}});
    }
    return stages;
}

bool ThreadSupervisor::stop_all() {
    auto deadline = Clock::now() + policy_.stop_timeout;
    bool clean = true;
    for (auto stage = kStageNames.rbegin(); stage != kStageNames.rend(); ++stage) {
        if (!stop_stage(*stage, deadline)) {
            clean = false;
            deadline = std::max(deadline, Clock::now() + policy_.late_stop_grace);
        }
    }
    return clean;
}

// Fires the stop of every running thread of `stage`, then waits for each until `deadline`.
bool ThreadSupervisor::stop_stage(const std::string& stage, Clock::time_point deadline) {
    for (auto& slot : slots_) {
        if (slot.stage == stage && slot.running) {
            slot.stop->request();
        }
    }
    bool clean = true;
    for (auto& slot : slots_) {
        if (slot.stage == stage && slot.running) {
            clean = finish(slot, deadline) && clean;
        }
    }
    return clean;
}

// Waits for the thread of `slot` to end until `deadline` and joins it. Returns false when it
// is still running then: it cannot be killed alone, so it is marked stuck and left running.
bool ThreadSupervisor::finish(Slot& slot, Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!ended_.wait_until(lock, deadline, [&] { return slot.ended; })) {
        stuck_ = true;
        log_->error(
            "stage stuck stage={} tid={} instance={} reason=\"still running {} ms after the "
            "stop began; a thread cannot be killed alone\"",
            slot.stage, slot.tid, slot.instance,
            duration_cast<milliseconds>(policy_.stop_timeout).count());
        return false;
    }
    std::string outcome = slot.outcome;
    lock.unlock();

    slot.thread.join();
    slot.running = false;
    log_->info("stage stopped stage={} tid={} instance={} {}", slot.stage, slot.tid, slot.instance,
               outcome);
    return true;
}

}  // namespace tdc
