// Every ZeroMQ socket that reaches another process is made here, so each one gets this
// process's CurveZMQ keys (when [security] curve is on) and the event queue bound.
#pragma once

#include <optional>
#include <string>

#include <zmq.hpp>

#include "common/config.hpp"
#include "common/curve.hpp"

namespace tdc {

// What the sockets of one process get.
struct SocketPolicy {
    // SNDHWM/RCVHWM of event sockets (PUB, SUB, XPUB, XSUB): a peer further behind than this
    // loses events (PUB and XPUB drop for it) instead of growing the sender's memory.
    int event_queue = EventsConfig{}.queue_length;
    // A client's own key pair and the broker's public key; nullopt: no CURVE.
    struct Curve {
        CurveKeyPair keys;
        std::string server_key;
    };
    std::optional<Curve> curve;
};

// The policy config.security and config.events give a process that connects to the broker:
// it reads security.secret_key and security.broker_public_key when curve is on. Throws
// ConfigError naming the key and the file.
SocketPolicy client_policy(const Config& config);

// Sets the policy of every socket this process makes from now on.
// REQUIRES: called before any thread that makes sockets starts (main does it first).
void set_socket_policy(SocketPolicy policy);

// A socket of `type` for connecting to one of the broker's endpoints, with the process's
// policy (or `policy`): a CURVE client when curve is on. Not connected yet.
zmq::socket_t client_socket(zmq::context_t& context, zmq::socket_type type);
zmq::socket_t client_socket(zmq::context_t& context, zmq::socket_type type,
                            const SocketPolicy& policy);

// A socket of `type` the broker binds for `domain` (its ZAP domain: bus, events_in,
// events_out), with the process's event queue: a CURVE server with `keys` when given, whose
// clients the ZAP handler admits. Not bound yet.
zmq::socket_t server_socket(zmq::context_t& context, zmq::socket_type type,
                            const std::string& domain, const CurveKeyPair* keys);

// Watches a client socket's handshakes with the broker, so a client refused by CURVE can say
// so instead of waiting: ZeroMQ does not retry a refused handshake.
class HandshakeWatch {
public:
    // Starts watching `socket`. REQUIRES: `socket` is not connected yet and outlives this.
    HandshakeWatch(zmq::context_t& context, zmq::socket_t& socket);
    ~HandshakeWatch();
    HandshakeWatch(const HandshakeWatch&) = delete;
    HandshakeWatch& operator=(const HandshakeWatch&) = delete;

    // Why the broker refused this socket's handshake, e.g. "the broker refused this
    // client's key (ZAP status 400)"; empty while no handshake failed. Never waits.
    std::string refusal();

private:
    zmq::socket_t& socket_;
    zmq::socket_t monitor_;
    std::string refusal_;
};

}  // namespace tdc
