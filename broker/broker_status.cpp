#include "broker/broker_status.hpp"

#include <unistd.h>

#include <algorithm>

namespace tdc {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

long long unix_ms() {
    return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

long long age_ms(BrokerStatus::Clock::time_point then) {
    return duration_cast<milliseconds>(BrokerStatus::Clock::now() - then).count();
}

std::string local_host() {
    char host[64] = {0};
    gethostname(host, sizeof host - 1);
    return host;
}

nlohmann::json worker_entry(const BrokerStatus::WorkerView& worker) {
    auto [host, pid] = worker_host_pid(worker.id);
    return {{"stage", worker.service},
            {"host", host},
            {"pid", pid},
            {"up", true},
            {"busy", worker.busy},
            {"last_heartbeat_ms_ago", age_ms(worker.last_seen)}};
}

// The heartbeat of the worker of `stage` with `host` and `pid` not yet in `taken`, or
// nullptr. The stage matters when several stages share a pid (the threads launch mode).
const BrokerStatus::WorkerView* find_worker(const std::vector<BrokerStatus::WorkerView>& workers,
                                            const std::string& host, long pid,
                                            const std::string& stage,
                                            const std::vector<std::string>& taken) {
    for (const auto& worker : workers) {
        if (worker_host_pid(worker.id) == std::pair{host, pid} && worker.service == stage &&
            std::find(taken.begin(), taken.end(), worker.id) == taken.end()) {
            return &worker;
        }
    }
    return nullptr;
}

}  // namespace

std::pair<std::string, long> worker_host_pid(const std::string& id) {
    auto at = id.find('@');
    auto colon = id.rfind(':');
    if (at == std::string::npos || colon == std::string::npos || colon < at) {
        return {"", 0};
    }
    try {
        return {id.substr(at + 1, colon - at - 1), std::stol(id.substr(colon + 1))};
    } catch (const std::exception&) {
        return {id.substr(at + 1, colon - at - 1), 0};
    }
}

void BrokerStatus::on_tick(std::int64_t tick) {
    last_tick_ = tick;
    last_tick_at_ = Clock::now();
}

void BrokerStatus::on_load_message(const std::string& client, const std::string& session) {
    std::string key = client + '\x1f' + session;
    if (loads_started_.count(key) > 0) {
        return;
    }
    if (loads_started_.size() >= kMaxTimedLoads) {  // sessions that never ended: forget the oldest
        loads_started_.erase(
            std::min_element(loads_started_.begin(), loads_started_.end(),
                             [](const auto& a, const auto& b) { return a.second < b.second; }));
    }
    loads_started_.emplace(std::move(key), Clock::now());
}

double BrokerStatus::finish_load(const std::string& client, const std::string& session) {
    auto it = loads_started_.find(client + '\x1f' + session);
    if (it == loads_started_.end()) {
        return -1;
    }
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - it->second).count();
    loads_started_.erase(it);
    return ms;
}

void BrokerStatus::on_load_result(const std::string& client, const std::string& session,
                                  const wire::LoadResult& result) {
    double ms = finish_load(client, session);
    if (result.ok) {
        ++uploads_ok_;
        rows_loaded_ += result.rows;
        if (ms >= 0) {
            load_seconds_.observe(ms / 1000.0);
        }
    } else {
        ++uploads_failed_;
    }
    record_upload({{"table", result.table},
                   {"ok", result.ok},
                   {"status", result.ok ? 201 : result.status},
                   {"rows", result.rows},
                   {"error", result.error},
                   {"duration_ms", ms < 0 ? nlohmann::json(nullptr) : nlohmann::json(ms)}});
}

void BrokerStatus::on_upload_refused(const std::string& client, const std::string& session,
                                     const std::string& reason) {
    double ms = finish_load(client, session);
    ++uploads_failed_;
    record_upload({{"table", ""},
                   {"ok", false},
                   {"status", 503},
                   {"rows", 0},
                   {"error", reason},
                   {"duration_ms", ms < 0 ? nlohmann::json(nullptr) : nlohmann::json(ms)}});
}

void BrokerStatus::record_upload(nlohmann::json upload) {
    upload["at_unix_ms"] = unix_ms();
    uploads_.push_front(std::move(upload));
    if (uploads_.size() > kRecentUploads) {
        uploads_.pop_back();
    }
}

void BrokerStatus::on_subscription(bool subscribe) {
    subscriptions_ = std::max<std::int64_t>(0, subscriptions_ + (subscribe ? 1 : -1));
}

void BrokerStatus::on_launcher_report(const nlohmann::json& report) {
    std::string key = report.value("host", "") + ":" + std::to_string(report.value("pid", 0L));
    launchers_[key] = Launcher{report, Clock::now()};
}

nlohmann::json BrokerStatus::report(const std::vector<WorkerView>& workers) const {
    nlohmann::json stages = nlohmann::json::array();
    std::vector<std::string> reported;
    for (const auto& [key, launcher] : launchers_) {
        std::string host = launcher.report.value("host", "");
        for (const auto& slot : launcher.report.value("stages", nlohmann::json::array())) {
            nlohmann::json entry = slot;
            entry["host"] = host;
            entry["launcher_report_ms_ago"] = age_ms(launcher.received);
            const WorkerView* worker = find_worker(workers, host, slot.value("pid", 0L),
                                                   slot.value("stage", ""), reported);
            if (worker != nullptr) {
                entry["last_heartbeat_ms_ago"] = age_ms(worker->last_seen);
                entry["busy"] = worker->busy;
                reported.push_back(worker->id);
            }
            stages.push_back(std::move(entry));
        }
    }
    for (const auto& worker : workers) {
        if (std::find(reported.begin(), reported.end(), worker.id) == reported.end()) {
            stages.push_back(worker_entry(worker));
        }
    }

    nlohmann::json tick = nullptr;
    if (last_tick_ != 0) {
        tick = {{"tick", last_tick_}, {"ms_ago", age_ms(last_tick_at_)}};
    }
    return {
        {"kind", "status"},
        {"v", wire::kVersion},
        {"broker", {{"host", local_host()}, {"pid", getpid()}, {"uptime_ms", age_ms(started_)}}},
        {"stages", std::move(stages)},
        {"last_tick", std::move(tick)},
        {"uploads", nlohmann::json(uploads_)},
        {"views", views_.report()},
        {"counters",
         {{"uploads_ok", uploads_ok_},
          {"uploads_failed", uploads_failed_},
          {"rows_loaded", rows_loaded_},
          {"events_published", events_published_},
          {"subscriptions", subscriptions_},
          {"workers_dropped", workers_dropped_}}},
        {"histograms",
         {{"load_seconds", load_seconds_.to_json()},
          {"refresh_seconds", views_.refresh_histograms()}}}};
}

}  // namespace tdc
