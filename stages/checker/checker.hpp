// The checker stage: serves the `checker` bus service. After each refresh it reads the view
// and, when the view is not empty, takes the view's next seq, logs the Event in
// tinydevcrm.events (the newest [events] log_per_view per view) and publishes it through the
// broker: frame 1 the view's name (subscribers filter by prefix), frame 2 the msgpack Event.
// It also answers ReplayRequest from that log, so a subscriber can fetch what it missed.
#pragma once

#include <chrono>
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

// How much of a view one event carries ([events] max_rows and max_bytes). Beyond either cap
// the event stops adding rows and says `truncated`; row_count is always the view's full count.
struct EventCaps {
    std::size_t rows = 0;
    std::size_t bytes = 0;  // counted as text bytes, plus 9 per scalar

    static EventCaps of(const EventsConfig& config) { return {config.max_rows, config.max_bytes}; }
};

// Counts an event's rows against its caps, in order. Once a row does not fit, no later row
// fits either, so an event's rows are always a prefix of the view's.
class EventBudget {
public:
    explicit EventBudget(const EventCaps& caps) : caps_(caps) {}

    // True when `row` fits beside the rows admitted so far (and is then counted).
    bool admit(const std::vector<wire::Value>& row);

private:
    EventCaps caps_;
    std::size_t rows_ = 0;
    std::size_t bytes_ = 0;
    bool full_ = false;
};

// Fills `event`'s columns, rows, row_count and truncated from a view read with its row key
// as column 0 (left out of the event).
void fill_rows(wire::Event& event, const pqxx::result& rows, const EventCaps& caps);

class Checker {
public:
    // How long a publish waits for the broker's subscription to reach the checker's socket,
    // which drops what it publishes until then (after a start or a broker restart).
    static constexpr std::chrono::milliseconds kBrokerWait{2000};

    Checker(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log);

    // Serves until `stop` is requested. Returns the process exit code.
    int run(StopSignal& stop);

private:
    bool handle(BusMessage& message);
    void on_refreshed(const wire::Refreshed& refreshed);
    void on_replay(const wire::Route& route, const wire::ReplayRequest& request);
    // Publishes `event` and tells the broker, which counts events per view.
    void publish(const wire::Event& event, zmq::message_t body);
    void await_broker();
    void read_broker_subscriptions();

    const Config& config_;
    std::shared_ptr<spdlog::logger> log_;
    StopSignal* stop_ = nullptr;
    BusWorker bus_;
    BusClient reports_;     // to the broker service; a worker's own socket only answers
    zmq::socket_t events_;  // XPUB, so the broker's subscription to it can be seen
    bool broker_subscribed_ = false;
    StageConnection db_;
    EventCaps caps_;
};

}  // namespace tdc
