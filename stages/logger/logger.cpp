#include "stages/logger/logger.hpp"

#include "common/event_json.hpp"
#include "common/sockets.hpp"
#include "common/subscription.hpp"

namespace tdc {

std::string format_rows(const wire::Event& event) {
    return dump_line(event_to_json(event)["rows"]);
}

EventLogger::EventLogger(const Config& config, zmq::context_t& context,
                         std::shared_ptr<spdlog::logger> log)
    : log_(std::move(log)), events_(client_socket(context, zmq::socket_type::sub)) {
    events_.set(zmq::sockopt::subscribe, "");
    events_.connect(config.endpoints.events_out);
}

int EventLogger::run(StopSignal& stop) {
    log_->info("logger ready");
    zmq::pollitem_t items[] = {{events_.handle(), 0, ZMQ_POLLIN, 0}, stop.poll_item()};
    while (!stop.requested()) {
        zmq::poll(items, 2, std::chrono::milliseconds(1000));
        if (items[0].revents & ZMQ_POLLIN) {
            on_event();
        }
    }
    log_->info("logger stopped");
    return 0;
}

void EventLogger::on_event() {
    TopicMessage message = receive_topic_message(events_);
    if (wire::is_sync_topic(message.topic.to_string_view())) {
        return;  // a subscriber's handshake with the broker, not an event
    }
    if (message.body.size() == 0) {
        log_->warn("event dropped reason=\"one frame, expected topic and body\"");
        return;
    }
    try {
        auto event = wire::decode<wire::Event>(message.body);
        log_->debug("event view={} seq={} as_of={} row_count={} rows={}", event.view, event.seq,
                    event.as_of, event.row_count, format_rows(event));
    } catch (const wire::Error& e) {
        log_->warn("event dropped topic={} reason=\"{}\"", message.topic.to_string(), e.what());
    }
}

}  // namespace tdc
