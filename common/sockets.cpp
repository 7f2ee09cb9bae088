#include "common/sockets.hpp"

#include <cstdint>
#include <cstring>

namespace tdc {

namespace {

SocketPolicy& process_policy() {
    static SocketPolicy policy;
    return policy;
}

bool carries_events(zmq::socket_type type) {
    return type == zmq::socket_type::pub || type == zmq::socket_type::sub ||
           type == zmq::socket_type::xpub || type == zmq::socket_type::xsub;
}

// PUB and XPUB drop what a full peer queue cannot take (ZMQ_XPUB_NODROP stays off): a
// subscriber that stops reading loses events, it never blocks the others or grows memory.
void bound_queue(zmq::socket_t& socket, zmq::socket_type type, int event_queue) {
    if (carries_events(type)) {
        socket.set(zmq::sockopt::sndhwm, event_queue);
        socket.set(zmq::sockopt::rcvhwm, event_queue);
    }
    if (type == zmq::socket_type::xpub) {
        socket.set(zmq::sockopt::xpub_nodrop, false);
    }
}

}  // namespace

SocketPolicy client_policy(const Config& config) {
    SocketPolicy policy;
    policy.event_queue = config.events.queue_length;
    if (config.security.curve) {
        SocketPolicy::Curve curve;
        curve.keys = read_secret_key("security.secret_key", config.security.secret_key);
        curve.server_key =
            read_public_key("security.broker_public_key", config.security.broker_public_key);
        policy.curve = std::move(curve);
    }
    return policy;
}

void set_socket_policy(SocketPolicy policy) {
    process_policy() = std::move(policy);
}

zmq::socket_t client_socket(zmq::context_t& context, zmq::socket_type type) {
    return client_socket(context, type, process_policy());
}

zmq::socket_t client_socket(zmq::context_t& context, zmq::socket_type type,
                            const SocketPolicy& policy) {
    zmq::socket_t socket(context, type);
    bound_queue(socket, type, policy.event_queue);
    if (policy.curve) {
        socket.set(zmq::sockopt::curve_serverkey, policy.curve->server_key);
        socket.set(zmq::sockopt::curve_publickey, policy.curve->keys.public_key);
        socket.set(zmq::sockopt::curve_secretkey, policy.curve->keys.secret_key);
    }
    return socket;
}

zmq::socket_t server_socket(zmq::context_t& context, zmq::socket_type type,
                            const std::string& domain, const CurveKeyPair* keys) {
    zmq::socket_t socket(context, type);
    bound_queue(socket, type, process_policy().event_queue);
    if (keys != nullptr) {
        socket.set(zmq::sockopt::curve_server, true);
        socket.set(zmq::sockopt::curve_secretkey, keys->secret_key);
        socket.set(zmq::sockopt::zap_domain, domain);
    }
    return socket;
}

HandshakeWatch::HandshakeWatch(zmq::context_t& context, zmq::socket_t& socket)
    : socket_(socket), monitor_(context, zmq::socket_type::pair) {
    std::string endpoint =
        "inproc://handshake-watch-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
    if (zmq_socket_monitor(socket.handle(), endpoint.c_str(), events) != 0) {
        throw std::runtime_error("monitor failed: " + endpoint + ": " + zmq_strerror(zmq_errno()));
    }
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(endpoint);
}

HandshakeWatch::~HandshakeWatch() {
    (void)zmq_socket_monitor(socket_.handle(), nullptr, 0);
}

// A monitor event is two frames: the event id (2 bytes) and its value (4 bytes), then the
// peer's address. For an authentication failure the value is the ZAP status code.
std::string HandshakeWatch::refusal() {
    zmq::message_t event;
    zmq::message_t address;
    while (refusal_.empty() && monitor_.recv(event, zmq::recv_flags::dontwait)) {
        (void)monitor_.recv(address);
        std::uint16_t id = 0;
        std::uint32_t value = 0;
        if (event.size() < 6) {
            continue;
        }
        std::memcpy(&id, event.data(), sizeof id);
        std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof value);
        refusal_ =
            id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                ? "the broker refused this client's key (ZAP status " + std::to_string(value) + ")"
                : "the CURVE handshake failed (ZeroMQ protocol error " + std::to_string(value) +
                      "): is the broker's public key right?";
    }
    return refusal_;
}

}  // namespace tdc
