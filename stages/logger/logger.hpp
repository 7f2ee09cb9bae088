// The logger stage: an event subscriber that logs every event at debug level.
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>
#include <zmq.hpp>

#include "common/config.hpp"
#include "common/stop.hpp"
#include "common/wire.hpp"

namespace tdc {

// Renders an event's rows as compact JSON-like text for a log line: [[3],[13]].
std::string format_rows(const wire::Event& event);

class EventLogger {
public:
    EventLogger(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log);

    // Logs events until `stop` is requested. Returns the process exit code.
    int run(StopSignal& stop);

private:
    void on_event();

    std::shared_ptr<spdlog::logger> log_;
    zmq::socket_t events_;
};

}  // namespace tdc
