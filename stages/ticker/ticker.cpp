#include "stages/ticker/ticker.hpp"

#include <time.h>

#include <algorithm>
#include <cerrno>

#include "common/wire.hpp"

namespace tdc {

namespace {

std::int64_t unix_us_now() {
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
}

std::int64_t unix_ms_now() {
    return unix_us_now() / 1000;
}

// How long before sending the ticker stops polling for stop and sleeps exactly.
constexpr std::int64_t kExactSleepMs = 20;

}  // namespace

Ticker::Ticker(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log)
    : interval_ms_(config.tick_interval_ms),
      log_(std::move(log)),
      bus_(context, config.endpoints.bus) {}

std::int64_t Ticker::next_tick(std::int64_t unix_ms, std::int64_t interval_ms) {
    return unix_ms / interval_ms + 1;
}

std::int64_t Ticker::lead_ms(std::int64_t interval_ms) {
    return std::min(kTickLeadMs, interval_ms / 4);
}

int Ticker::run(StopSignal& stop) {
    log_->info("ticker ready interval_ms={} lead_ms={}", interval_ms_, lead_ms(interval_ms_));
    std::int64_t tick = next_tick(unix_ms_now(), interval_ms_);
    while (sleep_until(tick, stop)) {
        wire::Refresh refresh;
        refresh.tick = tick;
        bus_.send(wire::kViewService, "", wire::encode(refresh));
        // Negative while the tick is ahead of its boundary, as it should be.
        log_->trace("tick sent tick={} from_boundary_us={}", tick,
                    unix_us_now() - tick * interval_ms_ * 1000);
        std::int64_t due = next_tick(unix_ms_now(), interval_ms_);
        if (due > tick + 1) {
            log_->warn("ticks skipped from={} to={} reason=\"clock jumped or process stalled\"",
                       tick + 1, due - 1);
        }
        tick = std::max(tick + 1, due);
    }
    log_->info("ticker stopped");
    return 0;
}

bool Ticker::sleep_until(std::int64_t tick, StopSignal& stop) {
    std::int64_t send_ms = tick * interval_ms_ - lead_ms(interval_ms_);
    std::int64_t coarse = send_ms - unix_ms_now() - kExactSleepMs;
    if (coarse > 0 && stop.wait_for(std::chrono::milliseconds(coarse))) {
        return false;
    }
    timespec at;
    at.tv_sec = static_cast<time_t>(send_ms / 1000);
    at.tv_nsec = static_cast<long>(send_ms % 1000) * 1000000;
    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, nullptr) == EINTR) {
    }
    return !stop.requested();
}

}  // namespace tdc
