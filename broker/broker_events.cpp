// The broker's event side: publishers connect to XSUB (events_in), subscribers to XPUB
// (events_out). The broker takes every event from every publisher and leaves the filtering by
// topic to its XPUB, so subscriptions never travel further than the broker. It also answers
// the subscription handshake (kSyncTopicPrefix in common/wire.hpp).
#include "broker/broker.hpp"

namespace tdc {

// XSUB keeps this subscription and sends it to each publisher that connects, also after a
// reconnect, so every publisher sends every event here.
void Broker::subscribe_to_publishers() {
    const char subscribe_all = 1;
    events_in_.send(zmq::buffer(&subscribe_all, 1), zmq::send_flags::none);
}

// Reads one (un)subscription from events_out: byte 1 or 0, then the topic.
void Broker::on_subscription() {
    zmq::message_t frame;
    (void)events_out_.recv(frame);
    if (frame.size() == 0) {
        return;
    }
    bool subscribe = *static_cast<const char*>(frame.data()) == 1;
    std::string_view topic(static_cast<const char*>(frame.data()) + 1, frame.size() - 1);
    if (!wire::is_sync_topic(topic)) {
        status_.on_subscription(subscribe);
    } else if (subscribe) {
        answer_sync(topic);
    }
}

// XPUB adds a subscription to its filter before it hands the subscription to us, and one
// subscriber's subscriptions arrive in the order it made them. So when we read the sync topic,
// every earlier subscription of that subscriber is in the filter, and this answer, sent on the
// same pipe, comes before any event published after it.
void Broker::answer_sync(std::string_view topic) {
    events_out_.send(zmq::buffer(topic), zmq::send_flags::sndmore);
    events_out_.send(wire::encode(wire::Subscribed{}), zmq::send_flags::none);
    log_->debug("subscription synced topic_bytes={}", topic.size());
}

}  // namespace tdc
