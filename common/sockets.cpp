#include "common/sockets.hpp"

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

}  // namespace tdc
