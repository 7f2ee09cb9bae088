// What the broker knows about the running system, served to `GET /status` and `GET /metrics`.
// Most of it passes through the broker anyway: worker heartbeats, the ticker's refresh
// requests, the loader sessions and their final replies (so the broker times each upload),
// the view stage's `refreshed` on its way to the checker, every event and subscription. The
// rest is reported to the service "broker": the launchers' pids and restarts, failed
// refreshes, and the checker's events per view. The HTTP front asks for all of it with a
// `status_request`; see docs/OPERATIONS.md for the fields.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/histogram.hpp"
#include "broker/view_status.hpp"
#include "common/wire.hpp"

namespace tdc {

// The bus service the broker answers itself. Bodies are msgpack maps with `kind`:
// `status_request` (answered with `status`); `launcher_report`, `refresh_failed` and
// `event_published` (not answered).
inline constexpr std::string_view kBrokerService = wire::kBrokerService;

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
    // Upload sessions timed at once; beyond it the oldest start is forgotten (that upload's
    // duration is then unknown), so sessions that never end cannot grow the map.
    static constexpr std::size_t kMaxTimedLoads = 1024;

    void on_tick(std::int64_t tick);
    // A message of loader session `session` from `client`: the first one starts its clock.
    void on_load_message(const std::string& client, const std::string& session);
    // The loader's final reply to that session; an ok one adds its duration to the histogram.
    void on_load_result(const std::string& client, const std::string& session,
                        const wire::LoadResult& result);
    // The broker refused or lost that session (no loader, loader gone).
    void on_upload_refused(const std::string& client, const std::string& session,
                           const std::string& reason);
    void on_event() { ++events_published_; }
    void on_subscription(bool subscribe);
    void on_worker_dropped() { ++workers_dropped_; }

    // Keeps the latest report of the launcher on `host` (one per host and pid).
    void on_launcher_report(const nlohmann::json& report);

    // Per view: refreshes, failures and events, fed by the broker as they pass or arrive.
    ViewStatus& views() { return views_; }

    // The whole status: `broker`, `stages` (launchers' slots merged with heartbeats, plus
    // workers no launcher reported), `last_tick`, `uploads` (recent), `views` (see
    // ViewStatus::report), `counters` and `histograms` {load_seconds, refresh_seconds: {view:
    // ...}} (see Histogram::to_json).
    nlohmann::json report(const std::vector<WorkerView>& workers) const;

private:
    struct Launcher {
        nlohmann::json report;
        Clock::time_point received;
    };

    void record_upload(nlohmann::json upload);
    // Milliseconds since the session's first message, or -1 when it was not timed; forgets it.
    double finish_load(const std::string& client, const std::string& session);

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
    std::map<std::string, Launcher> launchers_;               // by host:pid
    std::map<std::string, Clock::time_point> loads_started_;  // by client and session
    Histogram load_seconds_{kLoadSecondsBounds};
    ViewStatus views_;
};

// Splits a worker id `service@host:pid.n` into host and pid; pid 0 when it has another form.
std::pair<std::string, long> worker_host_pid(const std::string& id);

}  // namespace tdc
