// One view's refresh worker: its own thread and database connection, so a slow or failing
// view never holds up the others. At most one refresh of the view is in flight; a tick that
// finds one running or waiting for its boundary is merged into it (counted, never queued).
// A refresh begins at its tick's boundary, not before. Its bounds come from [views]:
// refresh_history rows kept per view, refresh_timeout_ms per refresh.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <spdlog/logger.h>
#include <pqxx/pqxx>
#include <zmq.hpp>

#include "common/bus.hpp"
#include "common/config.hpp"

namespace tdc {

class ViewRefresher {
public:
    struct Target {
        std::string name;
        std::string table;
    };

    // Starts the worker thread. It connects to the database on its first refresh and again on
    // the next tick whenever the connection is lost.
    ViewRefresher(Target view, const Config& config, zmq::context_t& context,
                  std::shared_ptr<spdlog::logger> log);

    // Stops and joins the worker. A refresh in flight runs to its end unless cancel_pid() was
    // used to cancel it first.
    ~ViewRefresher();

    ViewRefresher(const ViewRefresher&) = delete;
    ViewRefresher& operator=(const ViewRefresher&) = delete;

    const std::string& name() const { return view_.name; }

    // Asks for a refresh for `tick`. Returns false when a refresh was in flight or already
    // due: the tick is merged into it and counted.
    bool request(std::int64_t tick);

    // Ticks merged since this worker started.
    std::uint64_t merged_total() const { return merged_total_.load(); }

    // Tells the worker to stop after the refresh in flight. Returns the PostgreSQL backend pid
    // running that refresh, for pg_cancel_backend(), or 0 when none is running.
    int begin_stop();

private:
    void run();
    bool ensure_connected();
    // Refreshes the view; tells the checker (`refreshed`) or the broker (`refresh_failed`).
    void refresh(std::int64_t tick, BusClient& bus);
    // Makes the view again with its row key; returns what happened, for the error record.
    std::string rebuild();
    // The wall-clock time at which `tick`'s refresh may begin: its boundary.
    std::chrono::system_clock::time_point boundary(std::int64_t tick) const;
    // `committed_us`: wall-clock microseconds since the epoch when the refresh's COMMIT
    // returned, 0 when it failed.
    void record(std::int64_t tick, const std::string& started, double duration_ms,
                std::int64_t rows, const std::string& error, int merged, std::int64_t committed_us);
    // Logs a failed refresh (rate-limited) and reports it to the broker, for /status and
    // /metrics. `duration_ms` is -1 when the refresh never began.
    void note_failure(BusClient& bus, std::int64_t tick, const std::string& error,
                      double duration_ms = -1, int merged = 0);

    const Target view_;
    const Config& config_;
    zmq::context_t& context_;
    std::shared_ptr<spdlog::logger> log_;
    std::unique_ptr<pqxx::connection> db_;  // used by the worker thread only

    std::mutex mutex_;
    std::condition_variable wake_;
    std::optional<std::int64_t> due_;  // GUARDED_BY(mutex_)
    bool busy_ = false;                // GUARDED_BY(mutex_)
    bool stopping_ = false;            // GUARDED_BY(mutex_)
    int merged_ = 0;                   // GUARDED_BY(mutex_): since the last recorded refresh
    std::atomic<std::uint64_t> merged_total_{0};
    std::atomic<int> backend_pid_{0};

    // Whether the view is known to hold rows (it may be made without, see ViewRows), so it
    // can be refreshed concurrently. Worker thread only.
    bool populated_ = false;

    // Failure log rate limit, worker thread only.
    int failures_ = 0;
    int failures_unlogged_ = 0;
    std::chrono::steady_clock::time_point last_warn_{};

    std::thread thread_;  // last: starts after every member above is ready
};

}  // namespace tdc
