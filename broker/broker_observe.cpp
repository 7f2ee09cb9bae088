// The broker's watching side: it notices dead workers by their closed connections, counts
// and times what passes through it, takes the stages' reports, and answers the `broker`
// service with the status it gathered. Routing stays in broker.cpp.
#include <cstring>

#include "broker/broker.hpp"

namespace tdc {

namespace {

nlohmann::json parse_msgpack(const zmq::message_t& body) {
    try {
        const auto* data = static_cast<const std::uint8_t*>(body.data());
        return nlohmann::json::from_msgpack(data, data + body.size());
    } catch (const nlohmann::json::exception& e) {
        throw wire::Error(std::string("broker request is not msgpack: ") + e.what());
    }
}

zmq::message_t to_msgpack(const nlohmann::json& value) {
    std::vector<std::uint8_t> bytes = nlohmann::json::to_msgpack(value);
    return zmq::message_t(bytes.data(), bytes.size());
}

}  // namespace

// A worker killed with SIGKILL sends nothing more, but its TCP connection closes at once.
// The monitor reports the closed descriptor, and each worker remembers the descriptor it last
// spoke over (ZMQ_SRCFD), so the broker drops it within milliseconds instead of after
// kWorkerExpiry. Over inproc:// and ipc:// the expiry remains the only detection.
void Broker::watch_disconnects() {
    std::string endpoint =
        "inproc://broker-monitor-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
    int events = ZMQ_EVENT_DISCONNECTED | kRefusedHandshakeEvents;
    if (zmq_socket_monitor(bus_.handle(), endpoint.c_str(), events) != 0) {
        throw std::runtime_error("monitor failed: " + endpoint + ": " + zmq_strerror(zmq_errno()));
    }
    monitor_.connect(endpoint);
}

// TODO(liveness): a new connection may reuse the descriptor of one whose disconnect is not
// yet read; a worker registered over it in between is dropped wrongly and comes back with
// its next heartbeat (1 s), refusing a session it had just been given.
void Broker::on_monitor() {
    zmq::message_t event;
    zmq::message_t address;
    (void)monitor_.recv(event);
    (void)monitor_.recv(address);
    std::uint16_t id = 0;
    std::uint32_t fd = 0;
    if (event.size() < 6) {
        return;
    }
    std::memcpy(&id, event.data(), sizeof id);
    std::memcpy(&fd, static_cast<const char*>(event.data()) + 2, sizeof fd);
    if (id != ZMQ_EVENT_DISCONNECTED) {
        log_refused_handshake(*log_, refusals_, "bus", id, fd);  // fd is the event's value
        return;
    }
    std::vector<std::string> gone;
    for (const auto& [worker_id, worker] : workers_) {
        if (worker.fd == static_cast<int>(fd)) {
            gone.push_back(worker_id);
        }
    }
    if (!gone.empty()) {
        read_pending_bus();  // a worker that leaves in order says so before its connection closes
    }
    for (const auto& worker_id : gone) {
        drop_worker(worker_id, "connection closed");
    }
}

// Reads the bus messages already queued, at most as many as one peer may queue: the monitor's
// disconnect comes after every message that arrived over that connection, and a worker
// stopping in order sends wire::Leaving as its last one.
void Broker::read_pending_bus() {
    constexpr int kMaxMessages = 1000;
    for (int i = 0; i < kMaxMessages && (bus_.get(zmq::sockopt::events) & ZMQ_POLLIN); ++i) {
        on_bus();
    }
}

void Broker::on_broker_request(const std::string& client, const wire::Route& route,
                               const zmq::message_t& body) {
    nlohmann::json request = parse_msgpack(body);
    std::string kind = request.value("kind", "");
    if (kind == "launcher_report") {
        status_.on_launcher_report(request);
        return;
    }
    if (kind == wire::RefreshFailed::kKind) {
        status_.views().on_refresh_failed(wire::decode<wire::RefreshFailed>(body));
        return;
    }
    if (kind == wire::EventPublished::kKind) {
        status_.views().on_event_published(wire::decode<wire::EventPublished>(body));
        return;
    }
    if (kind != "status_request") {
        throw wire::Error("broker service: unknown kind '" + kind + "'");
    }
    std::vector<BrokerStatus::WorkerView> workers;
    for (const auto& [id, worker] : workers_) {
        workers.push_back({id, worker.service, !worker.session.empty(), worker.last_seen});
    }
    wire::Route back = route;
    back.last = true;
    send_to_client(client, back, to_msgpack(status_.report(workers)));
}

// Upload batches are large, so loader messages are timed by their session, never decoded.
void Broker::observe_client(const wire::Route& route, const zmq::message_t& body) {
    if (route.service == wire::kLoaderService && !route.session.empty()) {
        status_.on_load_message(route.client, route.session);
        return;
    }
    if (!route.session.empty()) {
        return;
    }
    if (route.service == wire::kViewService && wire::peek_kind(body) == wire::Refresh::kKind) {
        status_.on_tick(wire::decode<wire::Refresh>(body).tick);
    } else if (route.service == wire::kCheckerService &&
               wire::peek_kind(body) == wire::Refreshed::kKind) {
        status_.views().on_refreshed(wire::decode<wire::Refreshed>(body));
    }
}

void Broker::observe_worker(const Worker& worker, const wire::Route& route,
                            const zmq::message_t& body) {
    if (worker.service == wire::kLoaderService && route.last &&
        wire::peek_kind(body) == wire::LoadResult::kKind) {
        status_.on_load_result(route.client, route.session, wire::decode<wire::LoadResult>(body));
    }
}

}  // namespace tdc
