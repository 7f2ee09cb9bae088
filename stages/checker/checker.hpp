// The checker stage: serves the `checker` bus service. After each refresh it reads the view
// and, when the view is not empty, publishes an Event through the broker: frame 1 the view's
// name (subscribers filter by prefix), frame 2 the msgpack Event.
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>
#include <pqxx/pqxx>
#include <zmq.hpp>

#include "common/bus.hpp"
#include "common/config.hpp"
#include "common/db.hpp"
#include "common/stop.hpp"
#include "common/wire.hpp"

namespace tdc {

// Converts a PostgreSQL field to an event value: integers, floats and booleans keep their
// type; NULL is nil; everything else travels as PostgreSQL's text form.
wire::Value event_value(const pqxx::field& field);

class Checker {
public:
    Checker(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log);

    // Serves until `stop` is requested. Returns the process exit code.
    int run(StopSignal& stop);

private:
    bool handle(BusMessage& message);
    void on_refreshed(const wire::Refreshed& refreshed);
    void publish(const wire::Event& event);

    const Config& config_;
    std::shared_ptr<spdlog::logger> log_;
    StopSignal* stop_ = nullptr;
    BusWorker bus_;
    zmq::socket_t events_;
    StageConnection db_;
};

}  // namespace tdc
