// The ticker stage: sends a Refresh to the view service just after every wall-clock
// boundary of the tick interval (each second by default): none skipped, none sent twice.
#pragma once

#include <cstdint>
#include <memory>

#include <spdlog/logger.h>
#include <zmq.hpp>

#include "common/bus.hpp"
#include "common/config.hpp"
#include "common/stop.hpp"

namespace tdc {

class Ticker {
public:
    Ticker(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log);

    // Ticks until `stop` is requested. Returns the process exit code.
    int run(StopSignal& stop);

    // The number of the first tick whose boundary is after `unix_ms`: boundaries fall at
    // multiples of `interval_ms` since the Unix epoch, so with 1000 ms a tick's number is
    // its Unix second.
    static std::int64_t next_tick(std::int64_t unix_ms, std::int64_t interval_ms);

private:
    // Sleeps until the boundary of `tick`. Returns false when stop was requested instead.
    bool sleep_until(std::int64_t tick, StopSignal& stop);

    std::int64_t interval_ms_;
    std::shared_ptr<spdlog::logger> log_;
    BusClient bus_;
};

}  // namespace tdc
