#include "app/stages.hpp"

#include <iostream>
#include <iterator>
#include <map>
#include <utility>

#include <zmq.hpp>

#include "broker/broker.hpp"
#include "common/bus.hpp"
#include "common/event_json.hpp"
#include "common/log.hpp"
#include "common/sockets.hpp"
#include "common/subscription.hpp"
#include "http/server.hpp"
#include "launcher/thread_supervisor.hpp"
#include "stages/checker/checker.hpp"
#include "stages/loader/loader.hpp"
#include "stages/logger/logger.hpp"
#include "stages/ticker/ticker.hpp"
#include "stages/view/view.hpp"

namespace tdc {

namespace {

void require_database(const std::string& stage, const Config& config) {
    if (!config.database_url) {
        throw ConfigError("stage " + stage + " needs a database: set database.url in " +
                          config.file.string() +
                          " or TINYDEVCRM_DATABASE_URL (`tinydevcrm run` sets it for the "
                          "embedded cluster)");
    }
}

template <class Stage>
int run(const std::string& name, const Config& config, zmq::context_t& context, StopSignal& stop,
        const std::string& level) {
    Stage stage(config, context, make_logger(name, level));
    return stage.run(stop);
}

// Runs the stage called `name` on `context`: a stage's life once it has a ZeroMQ context.
int run_stage_on(const std::string& name, const Config& config, zmq::context_t& context,
                 StopSignal& stop) {
    if (name == "ticker") {
        return run<Ticker>(name, config, context, stop, config.log_level);
    }
    if (name == "logger") {
        return run<EventLogger>(name, config, context, stop, config.logger_level);
    }
    require_database(name, config);
    if (name == "loader") {
        return run<Loader>(name, config, context, stop, config.log_level);
    }
    if (name == "view") {
        return run<ViewStage>(name, config, context, stop, config.log_level);
    }
    if (name == "checker") {
        return run<Checker>(name, config, context, stop, config.log_level);
    }
    if (name == "http") {
        return run<http::HttpFront>(name, config, context, stop, config.log_level);
    }
    throw ConfigError("unknown stage '" + name + "'");
}

}  // namespace

int run_stage(const std::string& name, const Config& config, StopSignal& stop) {
    zmq::context_t context;
    if (name == "broker") {
        Broker broker(context, config.endpoints, make_logger("broker", config.log_level),
                      load_broker_security(config));
        broker.run(stop);
        return 0;
    }
    return run_stage_on(name, config, context, stop);
}

int run_stage_thread(const std::string& name, const Config& config, zmq::context_t& context,
                     StopSignal& stop) {
    Config local = config;
    local.endpoints = in_process_endpoints(config);
    if (name == "broker") {
        Broker broker(context, config.endpoints, make_logger("broker", config.log_level),
                      load_broker_security(config));
        if (local.endpoints.bus != config.endpoints.bus) {
            broker.also_bind(local.endpoints);
        }
        broker.run(stop);
        return 0;
    }
    return run_stage_on(name, local, context, stop);
}

namespace {

// How long `sub` waits for each part of the checker's replay answer.
constexpr auto kReplayTimeout = std::chrono::seconds(10);

// The logged events of `view` with after < seq <= upto (0: no upper bound), from the checker.
// Throws std::runtime_error naming the view when the checker does not answer, cannot read
// its log, or knows no view of that name.
std::vector<wire::Event> fetch_replay(BusClient& bus, const std::string& view, std::uint64_t after,
                                      std::uint64_t upto) {
    wire::ReplayRequest request;
    request.view = view;
    request.after = after;
    request.upto = upto;
    bus.send(wire::kCheckerService, new_session_id(), wire::encode(request));
    std::vector<wire::Event> events;
    for (;;) {
        auto reply = bus.receive(kReplayTimeout);
        if (!reply) {
            throw std::runtime_error("replay failed: view " + view +
                                     ": the checker did not answer");
        }
        if (wire::peek_kind(reply->body) == wire::Unavailable::kKind) {
            throw std::runtime_error("replay failed: view " + view + ": " +
                                     wire::decode<wire::Unavailable>(reply->body).reason);
        }
        auto batch = wire::decode<wire::ReplayBatch>(reply->body);
        if (batch.unknown_view) {
            throw std::runtime_error("replay failed: view " + view + ": " + batch.error +
                                     " (--since needs --view with one view's full name)");
        }
        if (!batch.error.empty()) {
            throw std::runtime_error("replay failed: view " + view + ": " + batch.error);
        }
        if (events.empty() && batch.oldest > after + 1) {
            std::cerr << "tinydevcrm sub: events " << after + 1 << " to " << batch.oldest - 1
                      << " of " << view << " are no longer in the event log\n";
        }
        std::move(batch.events.begin(), batch.events.end(), std::back_inserter(events));
        if (batch.done) {
            return events;
        }
    }
}

void print_event(const wire::Event& event) {
    std::cout << dump_line(event_to_json(event)) << std::endl;
}

// Prints each view's events once, in seq order. In resume mode only the resumed view's events
// are printed (its name may be a prefix of others'), and a gap in its seq is filled from the
// checker's event log before the event that revealed it.
class SubPrinter {
public:
    SubPrinter(BusClient& bus, std::size_t count) : bus_(bus), count_(count) {}

    bool done() const { return count_ != 0 && printed_ >= count_; }

    // Resumes `view` after `seq`: prints what the log holds after it.
    void resume(const std::string& view, std::uint64_t seq) {
        resumed_ = view;
        last_[view] = seq;
        for (const auto& event : fetch_replay(bus_, view, seq, 0)) {
            print(event);
        }
    }

    void live(const wire::Event& event) {
        if (resumed_ && event.view != *resumed_) {
            return;
        }
        auto last = last_.find(event.view);
        if (resumed_ && last != last_.end() && event.seq > last->second + 1) {
            for (const auto& missed : fetch_replay(bus_, event.view, last->second, event.seq - 1)) {
                print(missed);
            }
        }
        print(event);
    }

private:
    void print(const wire::Event& event) {
        auto last = last_.find(event.view);
        if (done() || (last != last_.end() && event.seq <= last->second)) {
            return;
        }
        print_event(event);
        last_[event.view] = event.seq;
        ++printed_;
    }

    BusClient& bus_;
    std::size_t count_;
    std::size_t printed_ = 0;
    std::optional<std::string> resumed_;         // the view resumed, in resume mode
    std::map<std::string, std::uint64_t> last_;  // per view: the last seq printed
};

// Subscribes `events` and waits for the broker's handshake answer, so no event published
// from then on is missed. Events that arrive meanwhile are kept in `early`. False on stop.
// Throws std::runtime_error naming the endpoint when the broker refused the CURVE handshake.
bool subscribe(zmq::context_t& context, zmq::socket_t& events, const Config& config,
               const SubOptions& options, StopSignal& stop, std::vector<TopicMessage>& early) {
    events.set(zmq::sockopt::subscribe, options.view_prefix);
    HandshakeWatch handshakes(context, events);
    events.connect(config.endpoints.events_out);
    bool told = false;
    auto waiting = [&] {
        if (std::string refusal = handshakes.refusal(); !refusal.empty()) {
            throw std::runtime_error("subscribe failed: " + config.endpoints.events_out + ": " +
                                     refusal);
        }
        if (!std::exchange(told, true)) {
            std::cerr << "tinydevcrm sub: waiting for the broker at " << config.endpoints.events_out
                      << "\n";
        }
    };
    if (!await_subscriptions(events, stop, early, waiting)) {
        return false;
    }
    std::cerr << "tinydevcrm sub: subscribed view_prefix=\"" << options.view_prefix
              << "\" events_out=" << config.endpoints.events_out << std::endl;
    return true;
}

}  // namespace

int run_sub(const Config& config, const SubOptions& options, StopSignal& stop) {
    if (options.since && options.view_prefix.empty()) {
        throw ConfigError("sub --since needs --view with the view's full name");
    }
    zmq::context_t context;
    zmq::socket_t events = client_socket(context, zmq::socket_type::sub);
    std::vector<TopicMessage> early;
    if (!subscribe(context, events, config, options, stop, early)) {
        return 0;
    }
    BusClient bus(context, config.endpoints.bus);
    SubPrinter printer(bus, options.count);
    if (options.since) {
        // Subscribed first: whatever is published from now on arrives live, the rest is in
        // the log, and the printer drops what arrives both ways.
        printer.resume(options.view_prefix, *options.since);
    }
    for (const auto& message : early) {
        printer.live(wire::decode<wire::Event>(message.body));
    }
    zmq::pollitem_t items[] = {{events.handle(), 0, ZMQ_POLLIN, 0}, stop.poll_item()};
    while (!stop.requested() && !printer.done()) {
        zmq::poll(items, 2, std::chrono::milliseconds(1000));
        if ((items[0].revents & ZMQ_POLLIN) == 0) {
            continue;
        }
        TopicMessage message = receive_topic_message(events);
        if (!wire::is_sync_topic(message.topic.to_string_view())) {
            printer.live(wire::decode<wire::Event>(message.body));
        }
    }
    return 0;
}

}  // namespace tdc
