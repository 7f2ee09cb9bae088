// What the broker knows about the running system, served to `GET /status` and `GET /metrics`.
// Everything it needs already passes through the broker: worker heartbeats, the ticker's
// refresh requests, the loader's final replies, every event and subscription, and the
// launchers' reports (pids and restarts). The HTTP front asks for it with a `status_request`
// to the service "broker"; see docs/OPERATIONS.md for the fields.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/wire.hpp"

namespace tdc {

// The bus service the broker answers itself. Bodies are msgpack maps with `kind`:
// `status_request` (answered with `status`) and `launcher_report` (not answered).
inline constexpr std::string_view kBrokerService = "broker";

class BrokerStatus {
public:
    using Clock = std::chrono::steady_clock;

    // One registered worker as the broker sees it.
    struct WorkerView {
        std::string id;  // service@host:pid.n, see common/bus.cpp
        std::string service;
        bool busy = false;
        Clock::time_point last_seen;
    };

    // Uploads kept for the status page, newest first.
    static constexpr std::size_t kRecentUploads = 20;

    void on_tick(std::int64_t tick);
    void on_load_result(const wire::LoadResult& result);
    void on_upload_refused(const std::string& reason);
    void on_event() { ++events_published_; }
    void on_subscription(bool subscribe);
    void on_worker_dropped() { ++workers_dropped_; }

    // Keeps the latest report of the launcher on `host` (one per host and pid).
    void on_launcher_report(const nlohmann::json& report);

    // The whole status: `broker`, `stages` (launchers' slots merged with heartbeats, plus
    // workers no launcher reported), `last_tick`, `uploads` (recent) and `counters`.
    nlohmann::json report(const std::vector<WorkerView>& workers) const;

private:
    struct Launcher {
        nlohmann::json report;
        Clock::time_point received;
    };

    void record_upload(nlohmann::json upload);

    Clock::time_point started_ = Clock::now();
    std::int64_t last_tick_ = 0;
    Clock::time_point last_tick_at_{};
    std::deque<nlohmann::json> uploads_;
    std::uint64_t uploads_ok_ = 0;
    std::uint64_t uploads_failed_ = 0;
    std::uint64_t rows_loaded_ = 0;
    std::uint64_t events_published_ = 0;
    std::int64_t subscriptions_ = 0;
    std::uint64_t workers_dropped_ = 0;
    std::map<std::string, Launcher> launchers_;  // by host:pid
};

// Splits a worker id `service@host:pid.n` into host and pid; pid 0 when it has another form.
std::pair<std::string, long> worker_host_pid(const std::string& id);

}  // namespace tdc
