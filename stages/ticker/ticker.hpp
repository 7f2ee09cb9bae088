// The ticker stage: sends a Refresh to the view service for every wall-clock boundary of the
// tick interval (each second by default): none skipped, none sent twice. Each is sent a lead
// ahead of its boundary and the view stage starts the refresh at the boundary itself, so the
// time the message takes to get there is not added to the refresh's timestamp.
#pragma once

#include <cstdint>
#include <memory>

#include <spdlog/logger.h>
#include <zmq.hpp>

#include "common/bus.hpp"
#include "common/config.hpp"
#include "common/stop.hpp"

namespace tdc {

// How long before a boundary its tick is sent. It covers the path ticker -> broker -> view
// stage (about 1 ms, up to 20 ms seen on a loaded 2-core machine); a tick later than that
// still refreshes at once.
inline constexpr std::int64_t kTickLeadMs = 50;

class Ticker {
public:
    Ticker(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log);

    // Ticks until `stop` is requested. Returns the process exit code.
    int run(StopSignal& stop);

    // The number of the first tick whose boundary is after `unix_ms`: boundaries fall at
    // multiples of `interval_ms` since the Unix epoch, so with 1000 ms a tick's number is
    // its Unix second.
    static std::int64_t next_tick(std::int64_t unix_ms, std::int64_t interval_ms);

    // How long before its boundary a tick is sent: kTickLeadMs, but at most a quarter of the
    // interval, so a tick never arrives while the previous one still waits for its boundary.
    static std::int64_t lead_ms(std::int64_t interval_ms);

private:
    // Sleeps until the lead before the boundary of `tick`. Returns false when stop was
    // requested instead.
    bool sleep_until(std::int64_t tick, StopSignal& stop);

    std::int64_t interval_ms_;
    std::shared_ptr<spdlog::logger> log_;
    BusClient bus_;
};

}  // namespace tdc
