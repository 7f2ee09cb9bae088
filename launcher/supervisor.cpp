#include "launcher/supervisor.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>

#include "launcher/process.hpp"

namespace tdc {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

template <class Duration>
long long to_ms(Duration duration) {
    return duration_cast<milliseconds>(duration).count();
}

}  // namespace

RestartTracker::RestartTracker(const SupervisorPolicy& policy)
    : policy_(policy), backoff_(policy.first_backoff) {}

std::optional<milliseconds> RestartTracker::on_exit(milliseconds uptime) {
    if (uptime >= policy_.healthy_uptime) {
        backoff_ = policy_.first_backoff;
    }
    quick_failures_ = uptime < policy_.quick_exit ? quick_failures_ + 1 : 0;
    if (quick_failures_ >= policy_.max_quick_failures) {
        return std::nullopt;
    }

    milliseconds delay = backoff_;
    backoff_ = std::min(backoff_ * 2, policy_.max_backoff);
    return delay;
}

Supervisor::Supervisor(const Config& config, std::filesystem::path self_exe,
                       std::shared_ptr<spdlog::logger> log, SupervisorPolicy policy)
    : self_exe_(std::move(self_exe)),
      config_file_(config.file),
      log_(std::move(log)),
      policy_(policy),
      reporter_(context_, config.endpoints.bus) {
    for (const auto& stage : kStageNames) {
        auto count = config.processes.find(stage);
        int instances = count == config.processes.end() ? 0 : count->second;
        for (int instance = 1; instance <= instances; ++instance) {
            slots_.push_back(Slot{stage, instance, RestartTracker(policy_)});
        }
    }
}

Supervisor::~Supervisor() {
    for (auto& slot : slots_) {
        if (slot.pid > 0) {
            kill(slot.pid, SIGKILL);
            waitpid(slot.pid, nullptr, 0);
        }
    }
}

int Supervisor::run(StopSignal& stop) {
    for (auto& slot : slots_) {
        start(slot);
    }
    while (!stop.wait_for(policy_.poll_interval)) {
        reap();
        restart_due();
        reporter_.report_if_due(describe_slots());
        if (!any_left()) {
            log_->error("launcher has no stages left to run");
            return 1;
        }
    }

    log_->info("launcher stopping reason=signal");
    return stop_all() ? 0 : 1;
}

void Supervisor::start(Slot& slot) {
    SpawnOptions options;
    options.own_process_group = true;  // so a terminal's Ctrl-C reaches only the launcher
    options.die_with_parent = true;
    try {
        slot.pid =
            spawn({self_exe_.string(), slot.stage, "--config", config_file_.string()}, options);
    } catch (const std::exception& e) {
        log_->error("stage start failed stage={} instance={} reason=\"{}\"", slot.stage,
                    slot.instance, e.what());
        slot.started_at = Clock::now();
        on_exit(slot, W_EXITCODE(127, 0));  // counts as a process that failed at once
        return;
    }
    slot.started_at = Clock::now();
    log_->info("stage started stage={} pid={} instance={}", slot.stage, slot.pid, slot.instance);
}

void Supervisor::reap() {
    for (auto& slot : slots_) {
        int status = 0;
        if (slot.pid > 0 && waitpid(slot.pid, &status, WNOHANG) == slot.pid) {
            on_exit(slot, status);
        }
    }
}

void Supervisor::on_exit(Slot& slot, int status) {
    auto uptime = duration_cast<milliseconds>(Clock::now() - slot.started_at);
    pid_t pid = slot.pid;
    slot.pid = 0;
    auto delay = slot.restarts.on_exit(uptime);
    if (!delay) {
        slot.given_up = true;
        log_->error("stage given up stage={} pid={} instance={} {} uptime_ms={} failures={}",
                    slot.stage, pid, slot.instance, describe_status(status), uptime.count(),
                    policy_.max_quick_failures);
        return;
    }
    slot.next_start = Clock::now() + *delay;
    log_->warn("stage exited stage={} pid={} instance={} {} uptime_ms={} restart_in_ms={}",
               slot.stage, pid, slot.instance, describe_status(status), uptime.count(),
               delay->count());
}

void Supervisor::restart_due() {
    auto now = Clock::now();
    for (auto& slot : slots_) {
        if (slot.pid == 0 && !slot.given_up && now >= slot.next_start) {
            ++slot.restart_count;
            start(slot);
        }
    }
}

bool Supervisor::any_left() const {
    return std::any_of(slots_.begin(), slots_.end(),
                       [](const Slot& slot) { return !slot.given_up; });
}

nlohmann::json Supervisor::describe_slots() const {
    nlohmann::json stages = nlohmann::json::array();
    for (const auto& slot : slots_) {
        long long uptime_ms = slot.pid > 0 ? to_ms(Clock::now() - slot.started_at) : 0;
        nlohmann::json entry = {
            {"stage", slot.stage},   {"instance", slot.instance},      {"pid", slot.pid},
            {"up", slot.pid > 0},    {"restarts", slot.restart_count}, {"given_up", slot.given_up},
            {"uptime_ms", uptime_ms}};
        stages.push_back(std::move(entry));
    }
    return stages;
}

bool Supervisor::stop_all() {
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

// Sends SIGTERM to every running process of `stage`, then waits for each until `deadline`.
bool Supervisor::stop_stage(const std::string& stage, Clock::time_point deadline) {
    for (auto& slot : slots_) {
        if (slot.stage == stage && slot.pid > 0) {
            kill(slot.pid, SIGTERM);
        }
    }
    bool clean = true;
    for (auto& slot : slots_) {
        if (slot.stage == stage && slot.pid > 0) {
            clean = finish(slot, deadline) && clean;
        }
    }
    return clean;
}

// Waits for the process of `slot` until `deadline`, then kills it. Returns false if killed.
bool Supervisor::finish(Slot& slot, Clock::time_point deadline) {
    pid_t pid = slot.pid;
    slot.pid = 0;
    if (auto status = wait_for_exit_until(pid, deadline)) {
        log_->info("stage stopped stage={} pid={} instance={} {}", slot.stage, pid, slot.instance,
                   describe_status(*status));
        return true;
    }
    kill(pid, SIGKILL);
    wait_for_exit(pid);
    log_->warn(
        "stage killed stage={} pid={} instance={} reason=\"still running {} ms after "
        "the stop began\"",
        slot.stage, pid, slot.instance, to_ms(policy_.stop_timeout));
    return false;
}

}  // namespace tdc
