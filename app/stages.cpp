#include "app/stages.hpp"

#include <iostream>

#include <zmq.hpp>

#include "broker/broker.hpp"
#include "common/event_json.hpp"
#include "common/log.hpp"
#include "http/server.hpp"
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
int run(const std::string& name, const Config& config, StopSignal& stop, const std::string& level) {
    zmq::context_t context;
    Stage stage(config, context, make_logger(name, level));
    return stage.run(stop);
}

}  // namespace

int run_stage(const std::string& name, const Config& config, StopSignal& stop) {
    if (name == "broker") {
        zmq::context_t context;
        Broker broker(context, config.endpoints, make_logger("broker", config.log_level));
        broker.run(stop);
        return 0;
    }
    if (name == "ticker") {
        return run<Ticker>(name, config, stop, config.log_level);
    }
    if (name == "logger") {
        return run<EventLogger>(name, config, stop, config.logger_level);
    }
    require_database(name, config);
    if (name == "loader") {
        return run<Loader>(name, config, stop, config.log_level);
    }
    if (name == "view") {
        return run<ViewStage>(name, config, stop, config.log_level);
    }
    if (name == "checker") {
        return run<Checker>(name, config, stop, config.log_level);
    }
    if (name == "http") {
        return run<http::HttpFront>(name, config, stop, config.log_level);
    }
    throw ConfigError("unknown stage '" + name + "'");
}

int run_sub(const Config& config, const SubOptions& options, StopSignal& stop) {
    zmq::context_t context;
    zmq::socket_t events(context, zmq::socket_type::sub);
    events.set(zmq::sockopt::subscribe, options.view_prefix);
    events.connect(config.endpoints.events_out);
    zmq::pollitem_t items[] = {{events.handle(), 0, ZMQ_POLLIN, 0}, stop.poll_item()};
    std::size_t seen = 0;
    while (!stop.requested() && (options.count == 0 || seen < options.count)) {
        zmq::poll(items, 2, std::chrono::milliseconds(1000));
        if ((items[0].revents & ZMQ_POLLIN) == 0) {
            continue;
        }
        zmq::message_t topic;
        zmq::message_t body;
        (void)events.recv(topic);
        (void)events.recv(body);
        auto event = wire::decode<wire::Event>(body);
        std::cout << dump_line(event_to_json(event)) << std::endl;
        ++seen;
    }
    return 0;
}

}  // namespace tdc
