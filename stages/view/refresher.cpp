#include "stages/view/refresher.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/db.hpp"
#include "common/wire.hpp"

namespace tdc {

namespace {

// A failing view logs at warn once, then at most once per this interval with the count.
constexpr auto kFailureWarnEvery = std::chrono::seconds(30);

std::string one_line(std::string text) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    while (!text.empty() && text.back() == ' ') {
        text.pop_back();
    }
    return text;
}

// Wall-clock microseconds since the Unix epoch, comparable with other processes' clocks.
std::int64_t unix_us_now() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The time slice a refresher thread asks the scheduler for. On Linux 6.12 and later (EEVDF) a
// thread with a shorter slice than the others gets an earlier deadline and may preempt the
// running task when it wakes, so on a busy machine its refresh begins closer to the boundary
// (bench/ticker under full CPU load: mean offset 6 to 9 ms instead of 11 to 15 ms). Older
// kernels accept and ignore it. A refresher mostly waits on PostgreSQL, so being preempted
// sooner while it runs costs it little.
constexpr std::uint64_t kRefresherSliceNs = 100'000;  // the kernel's minimum

// Asks for kRefresherSliceNs for the calling thread, keeping its policy and nice value.
// Returns the error text, empty on success.
std::string request_short_slice() {
    // The kernel's struct sched_attr, first version (glibc has no wrapper; the kernel header
    // clashes with glibc's <sched.h>).
    struct {
        std::uint32_t size;
        std::uint32_t sched_policy;
        std::uint64_t sched_flags;
        std::int32_t sched_nice;
        std::uint32_t sched_priority;
        std::uint64_t sched_runtime;
        std::uint64_t sched_deadline;
        std::uint64_t sched_period;
    } attr{};
    attr.size = sizeof(attr);
    attr.sched_policy = SCHED_OTHER;
    attr.sched_nice = static_cast<std::int32_t>(getpriority(PRIO_PROCESS, 0));
    attr.sched_runtime = kRefresherSliceNs;
    if (syscall(SYS_sched_setattr, 0, &attr, 0) != 0) {
        return std::strerror(errno);
    }
    return "";
}

double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

const char* const kAsOfSql =
    R"sql(SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))sql";

// Whether a view holds rows; $1 is its quoted name.
const char* const kPopulatedSql = "SELECT relispopulated FROM pg_class WHERE oid = to_regclass($1)";

// SQLSTATE of REFRESH ... CONCURRENTLY on a view without a unique index or without data.
const std::string kNotInPrerequisiteState = "55000";

const char* const kCatalogSqlSql = "SELECT sql FROM tinydevcrm.views WHERE name = $1";

// An empty `started` (the refresh failed before reading its timestamp) records now(); a
// `committed` of 0 microseconds since the epoch (the refresh failed) records NULL.
const char* const kRecordSql = R"sql(
INSERT INTO tinydevcrm.refreshes
    (view, tick, started, duration_ms, row_count, error, merged_ticks, committed)
VALUES ($1, $2::bigint, COALESCE(NULLIF($3::text, '')::timestamptz, now()), $4::float8,
        NULLIF($5::bigint, -1), NULLIF($6::text, ''), $7::int,
        'epoch'::timestamptz + NULLIF($8::bigint, 0) * interval '1 microsecond')
)sql";

// Deletes the view's history rows beyond the newest $2.
const char* const kTrimSql = R"sql(
DELETE FROM tinydevcrm.refreshes WHERE view = $1 AND id <= (
    SELECT id FROM tinydevcrm.refreshes WHERE view = $1 ORDER BY id DESC OFFSET $2 LIMIT 1)
)sql";

}  // namespace

ViewRefresher::ViewRefresher(Target view, const Config& config, zmq::context_t& context,
                             std::shared_ptr<spdlog::logger> log)
    : view_(std::move(view)),
      config_(config),
      context_(context),
      log_(std::move(log)),
      thread_([this] { run(); }) {}

ViewRefresher::~ViewRefresher() {
    begin_stop();
    thread_.join();
}

bool ViewRefresher::request(std::int64_t tick) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (busy_ || due_) {
            ++merged_;
            ++merged_total_;
            return false;
        }
        due_ = tick;
    }
    wake_.notify_one();
    return true;
}

int ViewRefresher::begin_stop() {
    bool busy;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
        busy = busy_;
    }
    wake_.notify_one();
    return busy ? backend_pid_.load() : 0;
}

void ViewRefresher::run() {
    std::string slice_error = request_short_slice();
    if (!slice_error.empty()) {
        log_->debug("refresher slice kept view={} reason=\"{}\"", view_.name, slice_error);
    }
    BusClient bus(context_, config_.endpoints.bus);
    for (;;) {
        std::int64_t tick;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || due_; });
            if (stopping_) {
                return;
            }
            // The ticker sends a tick ahead of its boundary; the refresh begins at the boundary,
            // so its now() falls just after it, however long the tick took to get here.
            if (wake_.wait_until(lock, boundary(*due_), [this] { return stopping_; })) {
                return;
            }
            tick = *due_;
            due_.reset();
            busy_ = true;
        }
        refresh(tick, bus);
        std::lock_guard<std::mutex> lock(mutex_);
        busy_ = false;
    }
}

std::chrono::system_clock::time_point ViewRefresher::boundary(std::int64_t tick) const {
    return std::chrono::system_clock::time_point(
        std::chrono::milliseconds(tick * config_.tick_interval_ms));
}

bool ViewRefresher::ensure_connected() {
    if (db_ && db_->is_open()) {
        return true;
    }
    try {
        db_ = open_connection(*config_.database_url);
        backend_pid_ = db_->backendpid();
        log_->debug("refresher connected view={}", view_.name);
        return true;
    } catch (const std::exception& e) {
        db_.reset();
        return false;
    }
}

void ViewRefresher::refresh(std::int64_t tick, BusClient& bus) {
    if (!ensure_connected()) {
        note_failure(bus, tick,
                     "cannot connect to the database " + redact_url(*config_.database_url));
        return;
    }
    auto start = std::chrono::steady_clock::now();
    log_->trace("refresh begins view={} tick={} after_boundary_us={}", view_.name, tick,
                std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now() - boundary(tick))
                    .count());
    wire::Refreshed done;
    std::int64_t rows = -1;
    std::int64_t committed_us = 0;
    std::string error;
    try {
        pqxx::work tx(*db_);
        tx.exec("SET LOCAL statement_timeout = " +
                std::to_string(config_.views.refresh_timeout_ms));
        done.as_of = tx.exec(kAsOfSql)[0][0].c_str();
        // A view made without rows gets them from a plain refresh: a concurrent one needs
        // rows to compare with. Nobody can have read it yet, so its lock stops no reader.
        if (!populated_) {
            auto found = tx.exec_params(kPopulatedSql, quote_identifier(view_.name));
            populated_ = found.empty() || found[0][0].as<bool>();
        }
        tx.exec(std::string("REFRESH MATERIALIZED VIEW ") + (populated_ ? "CONCURRENTLY " : "") +
                quote_identifier(view_.name));
        rows = tx.exec("SELECT count(*) FROM " + quote_identifier(view_.name))[0][0]
                   .as<std::int64_t>();
        tx.commit();
        committed_us = unix_us_now();
        populated_ = true;
    } catch (const pqxx::broken_connection&) {
        db_.reset();
        note_failure(bus, tick, "connection lost", ms_since(start));
        return;
    } catch (const pqxx::sql_error& e) {
        error = one_line(e.what());
        if (e.sqlstate() == kNotInPrerequisiteState) {
            error += rebuild();
        }
    } catch (const std::exception& e) {
        error = one_line(e.what());
    }
    double duration_ms = ms_since(start);
    int merged;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        merged = std::exchange(merged_, 0);
    }
    if (error.empty()) {
        // The checker first: the history row is bookkeeping and stays off the event's path.
        done.view = view_.name;
        done.table = view_.table;
        done.tick = tick;
        done.duration_ms = duration_ms;
        done.rows = rows;
        done.merged_ticks = merged;
        bus.send(wire::kCheckerService, "", wire::encode(done));
    }
    record(tick, done.as_of, duration_ms, rows, error, merged, committed_us);
    if (!error.empty()) {
        note_failure(bus, tick, error, duration_ms, merged);
        return;
    }
    if (failures_ > 0) {
        log_->info("refresh recovered view={} failures={}", view_.name, failures_);
        failures_ = 0;
        failures_unlogged_ = 0;
    }
    if (merged > 0) {
        log_->info("refresh slow view={} tick={} duration_ms={:.1f} merged_ticks={}", view_.name,
                   tick, duration_ms, merged);
    }
    log_->trace("view refreshed view={} as_of={} rows={} duration_ms={:.1f}", view_.name,
                done.as_of, rows, duration_ms);
}

std::string ViewRefresher::rebuild() {
    try {
        pqxx::work tx(*db_);
        auto sql = tx.exec_params(kCatalogSqlSql, view_.name);
        if (sql.empty()) {
            return " (not rebuilt: the view left the catalog)";
        }
        rebuild_view(tx, view_.name, sql[0][0].c_str());
        tx.commit();
        log_->info("view rebuilt view={} reason=\"no row key for a concurrent refresh\"",
                   view_.name);
        return " (rebuilt with its row key; the next tick refreshes it)";
    } catch (const pqxx::broken_connection&) {
        db_.reset();
        return " (not rebuilt: connection lost)";
    } catch (const std::exception& e) {
        return " (not rebuilt: " + one_line(e.what()) + ")";
    }
}

void ViewRefresher::record(std::int64_t tick, const std::string& started, double duration_ms,
                           std::int64_t rows, const std::string& error, int merged,
                           std::int64_t committed_us) {
    try {
        pqxx::work tx(*db_);
        tx.exec_params(kRecordSql, view_.name, tick, started, duration_ms, rows, error, merged,
                       committed_us);
        tx.exec_params(kTrimSql, view_.name, config_.views.refresh_history);
        tx.commit();
    } catch (const pqxx::broken_connection&) {
        db_.reset();
    } catch (const std::exception& e) {
        // A view dropped meanwhile loses its history by design (ON DELETE CASCADE).
        log_->debug("refresh not recorded view={} reason=\"{}\"", view_.name, one_line(e.what()));
    }
}

void ViewRefresher::note_failure(BusClient& bus, std::int64_t tick, const std::string& error,
                                 double duration_ms, int merged) {
    wire::RefreshFailed report;
    report.view = view_.name;
    report.table = view_.table;
    report.tick = tick;
    report.duration_ms = duration_ms;
    report.error = error;
    report.merged_ticks = merged;
    (void)bus.try_send(wire::kBrokerService, wire::encode(report));

    ++failures_;
    ++failures_unlogged_;
    auto now = std::chrono::steady_clock::now();
    if (failures_ > 1 && now - last_warn_ < kFailureWarnEvery) {
        log_->debug("refresh failed view={} tick={} reason=\"{}\"", view_.name, tick, error);
        return;
    }
    log_->warn("refresh failed view={} tick={} failures={} since_last_warn={} reason=\"{}\"",
               view_.name, tick, failures_, failures_unlogged_, error);
    failures_unlogged_ = 0;
    last_warn_ = now;
}

}  // namespace tdc
