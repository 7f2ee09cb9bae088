#include "common/bus.hpp"

#include <unistd.h>

#include <atomic>
#include <random>

#include "common/sockets.hpp"

namespace tdc {

namespace {

// Readable and unique, also for several workers in one process: service@host:pid.n
std::string worker_identity(std::string_view service) {
    static std::atomic<int> counter{0};
    char host[64] = {0};
    gethostname(host, sizeof host - 1);
    return std::string(service) + "@" + host + ":" + std::to_string(getpid()) + "." +
           std::to_string(++counter);
}

BusMessage receive_two_frames(zmq::socket_t& socket) {
    zmq::message_t route_frame;
    zmq::message_t body;
    (void)socket.recv(route_frame);
    if (!route_frame.more()) {
        throw wire::Error("bus message has 1 frame, expected route and body");
    }
    (void)socket.recv(body);
    while (body.more()) {  // drop anything extra rather than desynchronize
        zmq::message_t extra;
        (void)socket.recv(extra);
        if (!extra.more()) {
            break;
        }
    }
    return {wire::decode_route(route_frame), std::move(body)};
}

}  // namespace

BusWorker::BusWorker(zmq::context_t& context, const std::string& endpoint, std::string_view service)
    : socket_(client_socket(context, zmq::socket_type::dealer)), service_(service) {
    socket_.set(zmq::sockopt::routing_id, worker_identity(service));
    socket_.set(zmq::sockopt::linger, 1000);
    socket_.connect(endpoint);
    announce();
}

void BusWorker::announce() {
    wire::Ready ready;
    ready.service = service_;
    socket_.send(wire::encode(ready), zmq::send_flags::none);
}

void BusWorker::leave() {
    wire::Leaving leaving;
    leaving.service = service_;
    socket_.send(wire::encode(leaving), zmq::send_flags::none);
}

BusMessage BusWorker::receive() {
    return receive_two_frames(socket_);
}

void BusWorker::refuse(const wire::Route& route, const std::string& reason) {
    wire::Unavailable message;
    message.service = service_;
    message.reason = reason;
    reply(route, wire::encode(message), true);
}

void BusWorker::reply(wire::Route route, zmq::message_t body, bool last) {
    route.last = last;
    socket_.send(wire::encode(route), zmq::send_flags::sndmore);
    socket_.send(body, zmq::send_flags::none);
}

namespace {

// Reads one message and hands it to `handle`; returns what `handle` returns, or true when
// the message could not be decoded.
bool handle_next(BusWorker& bus, const std::function<bool(BusMessage&)>& handle,
                 spdlog::logger& log) {
    std::optional<BusMessage> message;
    try {
        message = bus.receive();
        return handle(*message);
    } catch (const wire::Error& e) {
        log.warn("message dropped reason=\"{}\"", e.what());
        if (message && !message->route.session.empty()) {
            bus.refuse(message->route, std::string("message not understood: ") + e.what());
        }
        return true;
    }
}

}  // namespace

void serve(BusWorker& bus, StopSignal& stop, const std::function<bool(BusMessage&)>& handle,
           spdlog::logger& log, const std::function<void()>& every_second) {
    constexpr auto kAnnounceEvery = std::chrono::seconds(1);
    zmq::pollitem_t items[] = {{bus.socket().handle(), 0, ZMQ_POLLIN, 0}, stop.poll_item()};
    auto next_announce = std::chrono::steady_clock::now() + kAnnounceEvery;
    bool running = true;
    while (running && !stop.requested()) {
        zmq::poll(items, 2, kAnnounceEvery);
        if (items[0].revents & ZMQ_POLLIN) {
            running = handle_next(bus, handle, log);
        }
        if (std::chrono::steady_clock::now() >= next_announce) {
            bus.announce();
            if (every_second) {
                every_second();
            }
            next_announce = std::chrono::steady_clock::now() + kAnnounceEvery;
        }
    }
    bus.leave();
}

BusClient::BusClient(zmq::context_t& context, const std::string& endpoint)
    : socket_(client_socket(context, zmq::socket_type::dealer)) {
    socket_.set(zmq::sockopt::linger, 1000);
    socket_.connect(endpoint);
}

void BusClient::send(std::string_view service, const std::string& session, zmq::message_t body) {
    wire::Route route;
    route.service = std::string(service);
    route.session = session;
    socket_.send(wire::encode(route), zmq::send_flags::sndmore);
    socket_.send(body, zmq::send_flags::none);
}

bool BusClient::try_send(std::string_view service, zmq::message_t body) {
    wire::Route route;
    route.service = std::string(service);
    if (!socket_.send(wire::encode(route), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        return false;
    }
    // Once the first frame is queued ZeroMQ takes the rest of the message.
    (void)socket_.send(body, zmq::send_flags::dontwait);
    return true;
}

std::optional<BusMessage> BusClient::receive(std::chrono::milliseconds timeout) {
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, timeout);
    if ((items[0].revents & ZMQ_POLLIN) == 0) {
        return std::nullopt;
    }
    return receive_two_frames(socket_);
}

std::string new_session_id() {
    static std::atomic<unsigned long> counter{0};
    static const unsigned long salt = std::random_device{}();
    char host[64] = {0};
    gethostname(host, sizeof host - 1);
    return std::string(host) + "-" + std::to_string(getpid()) + "-" + std::to_string(salt) + "-" +
           std::to_string(++counter);
}

}  // namespace tdc
