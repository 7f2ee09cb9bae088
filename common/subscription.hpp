// The subscriber's side of the handshake with the broker (kSyncTopicPrefix in common/wire.hpp).
// A SUB socket's subscriptions travel to the broker asynchronously, so events published
// right after connecting can be lost (ZeroMQ's "slow joiner"). The handshake proves they have
// arrived: subscribe a fresh sync topic after the others and wait for the broker's answer on
// it; every event published after that answer reaches the socket.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "common/stop.hpp"

namespace tdc {

// One message read from an events_out subscription: the topic, then the body (empty when the
// sender sent one frame only).
struct TopicMessage {
    zmq::message_t topic;
    zmq::message_t body;
};

// Reads one message with all its frames. REQUIRES: `socket` is readable.
TopicMessage receive_topic_message(zmq::socket_t& socket);

// One handshake on a SUB socket, for callers that poll the socket in their own loop.
class SubscriptionSync {
public:
    // How long one attempt waits for the broker's answer before a new token is tried.
    static constexpr std::chrono::milliseconds kAttempt{2000};

    // Subscribes `socket` to a fresh sync topic. REQUIRES: the socket's other subscriptions
    // are already set; it outlives this object.
    explicit SubscriptionSync(zmq::socket_t& socket);

    bool confirmed() const { return confirmed_; }

    // When the current attempt gives up; past it, call retry().
    std::chrono::steady_clock::time_point deadline() const { return deadline_; }

    // Unsubscribes the current sync topic and subscribes a new one: the broker may not have
    // been up, or may have restarted before it answered.
    void retry();

    // Takes a received message whose topic is a sync topic (anyone's: a socket subscribed to
    // the empty prefix sees them all). Returns true when it is the broker's answer to this
    // handshake, which is then over and its sync topic unsubscribed.
    bool on_sync_message(const TopicMessage& message);

private:
    void subscribe_new_topic();

    zmq::socket_t& socket_;
    std::string topic_;
    std::chrono::steady_clock::time_point deadline_;
    bool confirmed_ = false;
};

// Runs a whole handshake on `socket`: waits for the broker's answer, trying a new token every
// SubscriptionSync::kAttempt (`on_retry` is called each time). Messages of view topics that
// arrive meanwhile are appended to `early`, in order. Returns false when `stop` came first.
bool await_subscriptions(zmq::socket_t& socket, StopSignal& stop, std::vector<TopicMessage>& early,
                         const std::function<void()>& on_retry);

}  // namespace tdc
