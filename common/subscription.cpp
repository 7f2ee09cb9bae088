#include "common/subscription.hpp"

#include <random>

#include "common/wire.hpp"

namespace tdc {

namespace {

std::string random_token() {
    static thread_local std::mt19937_64 generator{std::random_device{}()};
    static const char kDigits[] = "0123456789abcdef";
    std::string token;
    for (std::uint64_t bits = generator(), i = 0; i < 16; ++i, bits >>= 4) {
        token += kDigits[bits & 0xF];
    }
    return token;
}

}  // namespace

TopicMessage receive_topic_message(zmq::socket_t& socket) {
    TopicMessage message;
    (void)socket.recv(message.topic);
    if (message.topic.more()) {
        (void)socket.recv(message.body);
    }
    zmq::message_t extra;
    while (socket.get(zmq::sockopt::rcvmore)) {
        (void)socket.recv(extra);  // not ours: our messages have two frames
    }
    return message;
}

SubscriptionSync::SubscriptionSync(zmq::socket_t& socket) : socket_(socket) {
    subscribe_new_topic();
}

void SubscriptionSync::retry() {
    socket_.set(zmq::sockopt::unsubscribe, topic_);
    subscribe_new_topic();
}

void SubscriptionSync::subscribe_new_topic() {
    topic_ = std::string(wire::kSyncTopicPrefix) + random_token();
    socket_.set(zmq::sockopt::subscribe, topic_);
    deadline_ = std::chrono::steady_clock::now() + kAttempt;
}

bool SubscriptionSync::on_sync_message(const TopicMessage& message) {
    if (confirmed_ || message.topic.to_string_view() != topic_) {
        return false;  // another subscriber's handshake, or an earlier attempt's late answer
    }
    confirmed_ = true;
    socket_.set(zmq::sockopt::unsubscribe, topic_);
    return true;
}

bool await_subscriptions(zmq::socket_t& socket, StopSignal& stop, std::vector<TopicMessage>& early,
                         const std::function<void()>& on_retry) {
    SubscriptionSync sync(socket);
    zmq::pollitem_t items[] = {{socket.handle(), 0, ZMQ_POLLIN, 0}, stop.poll_item()};
    while (!stop.requested()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            sync.deadline() - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            sync.retry();
            on_retry();
            continue;
        }
        zmq::poll(items, 2, left);
        if ((items[0].revents & ZMQ_POLLIN) == 0) {
            continue;
        }
        TopicMessage message = receive_topic_message(socket);
        if (!wire::is_sync_topic(message.topic.to_string_view())) {
            early.push_back(std::move(message));
        } else if (sync.on_sync_message(message)) {
            return true;
        }
    }
    return false;
}

}  // namespace tdc
