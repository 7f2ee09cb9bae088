// The stages' side of the broker's bus: workers that serve a named service and clients that
// send to one. Frames are [Route][body] as declared in common/wire.hpp.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/logger.h>
#include <zmq.hpp>

#include "common/stop.hpp"
#include "common/wire.hpp"

namespace tdc {

struct BusMessage {
    wire::Route route;
    zmq::message_t body;
};

// A stage's connection to the broker as a worker of `service`.
class BusWorker {
public:
    // Connects a DEALER to `endpoint` and announces the service. Connecting never blocks: the
    // announcement waits in ZeroMQ's queue until the broker is up.
    BusWorker(zmq::context_t& context, const std::string& endpoint, std::string_view service);

    zmq::socket_t& socket() { return socket_; }

    // Reads one message. REQUIRES: the socket is readable.
    BusMessage receive();

    // Answers the client of `route`. `last` ends the session in the broker.
    void reply(wire::Route route, zmq::message_t body, bool last);

    // Tells the broker this worker is alive; the broker forgets workers silent for 10 s.
    void announce();

    // Tells the broker this worker stops serving; it then sends it nothing more.
    void leave();

    // Answers the client of `route` `unavailable` with `reason`, ending the session: for a
    // message of a session that this worker cannot handle.
    void refuse(const wire::Route& route, const std::string& reason);

private:
    zmq::socket_t socket_;
    std::string service_;
};

// The worker loop every bus stage runs: announces `bus` every second, calls `every_second`
// (when given) as often, and hands each message to `handle` until `stop` is requested or
// `handle` returns false; then it leaves (BusWorker::leave()). A message that fails to decode
// (`handle` throws wire::Error) is logged at warn and skipped; when it belongs to a session, its
// client is refused, so a message the stage does not understand never leaves it pinned to that
// session.
void serve(BusWorker& bus, StopSignal& stop, const std::function<bool(BusMessage&)>& handle,
           spdlog::logger& log, const std::function<void()>& every_second = {});

// A connection to the broker as a client. One per thread: ZeroMQ sockets are not shared.
class BusClient {
public:
    BusClient(zmq::context_t& context, const std::string& endpoint);

    // Sends `body` to `service`. With an empty `session` any worker takes it and no reply
    // comes; otherwise every message of the session reaches the same worker.
    void send(std::string_view service, const std::string& session, zmq::message_t body);

    // Like send() with no session, but never waits: returns false, dropping `body`, when
    // ZeroMQ's queue towards the broker is full (the broker has been away for a while). For
    // reports to the broker, which must never hold up a stage.
    bool try_send(std::string_view service, zmq::message_t body);

    // Waits up to `timeout` for the next reply; nullopt when none came.
    std::optional<BusMessage> receive(std::chrono::milliseconds timeout);

private:
    zmq::socket_t socket_;
};

// A session id unique across processes and hosts: host, pid and a counter.
std::string new_session_id();

}  // namespace tdc
