// The broker owns the well-known endpoints. It runs two things in one loop:
//  - the event forwarder: publishers connect to XSUB (events_in), subscribers to XPUB
//    (events_out); the broker takes every event and its XPUB filters them per subscriber
//    (broker_events.cpp, with the subscription handshake);
//  - the bus: a ROUTER where stages register as workers of a service and clients send to a
//    service. Messages of one session stick to one worker; a worker takes one session at a
//    time, and sessions wait in a bounded queue for a free worker.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <zmq.hpp>

#include "broker/broker_status.hpp"
#include "broker/gatekeeper.hpp"
#include "common/config.hpp"
#include "common/stop.hpp"
#include "common/wire.hpp"

namespace tdc {

class Broker {
public:
    // Binds every endpoint. Throws zmq::error_t naming the endpoint when one is taken. With
    // `security`, every endpoint is a CURVE server and a Gatekeeper admits clients by key.
    Broker(zmq::context_t& context, const Endpoints& endpoints, std::shared_ptr<spdlog::logger> log,
           std::optional<BrokerSecurity> security = std::nullopt);

    // Binds the three sockets to `more` as well, e.g. inproc:// endpoints for stages that run
    // in this process. Throws like the constructor.
    void also_bind(const Endpoints& more);

    // Forwards until `stop` is requested.
    void run(StopSignal& stop);

    // How long a worker may stay silent before it is taken for dead. Workers announce
    // themselves every second.
    static constexpr std::chrono::seconds kWorkerExpiry{10};
    // Sessions waiting for a free worker of one service, beyond which new ones for it are
    // refused; a flood for one service (or one nobody serves) leaves the others their room.
    static constexpr std::size_t kMaxWaitingSessions = 256;
    // Sessions waiting for any service, beyond which new ones are refused.
    static constexpr std::size_t kMaxWaitingTotal = 1024;
    // Messages a waiting session may hold before its worker is free; more refuse the session.
    static constexpr std::size_t kMaxWaitingMessages = 64;
    // How long a session may wait for a free worker before it is refused. The HTTP front
    // gives up on an upload sooner (http.upload_timeout_ms, 30 s by default).
    static constexpr std::chrono::seconds kWaitingExpiry{60};
    // For this long after the last worker of a service left in order (wire::Leaving), a
    // message for that service is dropped at info, not warn: during an orderly stop, stages
    // leave one by one while others still send to them.
    static constexpr std::chrono::seconds kLeftGrace{10};

private:
    struct Worker {
        std::string service;
        std::string session;  // the session it serves, empty when free
        std::chrono::steady_clock::time_point last_seen;
        int fd = -1;  // the TCP connection it last spoke over; -1 for inproc and ipc
    };
    struct Waiting {
        std::string key;
        std::string client;
        std::vector<std::pair<wire::Route, zmq::message_t>> messages;
        std::chrono::steady_clock::time_point since;
    };

    void on_bus();
    void on_worker(const std::string& worker, std::vector<zmq::message_t>& frames);
    void on_client(const std::string& client, std::vector<zmq::message_t>& frames);
    void route_to_session(const std::string& client, wire::Route route, zmq::message_t body);
    void dispatch_waiting();
    bool send_to_worker(const std::string& worker, const wire::Route& route, zmq::message_t body);
    void send_to_client(const std::string& client, const wire::Route& route, zmq::message_t body);
    // Sends route and body to `peer` without waiting. Returns false when the peer's queue is
    // full; throws zmq::error_t when the peer is gone.
    bool send_on_bus(const std::string& peer, const wire::Route& route, zmq::message_t& body);
    void unavailable(const std::string& client, const wire::Route& route,
                     const std::string& reason);
    void drop_worker(const std::string& worker, const std::string& reason, bool left = false);
    bool left_recently(const std::string& service) const;
    void read_pending_bus();
    void expire_workers();
    void expire_waiting();
    void refuse_waiting(std::deque<Waiting>::iterator it, const std::string& reason);
    std::string free_worker(const std::string& service) const;
    std::string any_worker(const std::string& service);
    void forward(zmq::socket_t& from, zmq::socket_t& to);
    void subscribe_to_publishers();
    void on_subscription();
    void answer_sync(std::string_view topic);
    void watch_disconnects();
    void on_monitor();
    void on_broker_request(const std::string& client, const wire::Route& route,
                           const zmq::message_t& body);
    void observe_client(const wire::Route& route, const zmq::message_t& body);
    void observe_worker(const Worker& worker, const wire::Route& route, const zmq::message_t& body);
    void start_gatekeeper(zmq::context_t& context, std::optional<BrokerSecurity> security);
    bool admitted_on_bus(const std::string& sender, std::vector<zmq::message_t>& frames);

    std::shared_ptr<spdlog::logger> log_;
    zmq::socket_t bus_;
    zmq::socket_t events_in_;
    zmq::socket_t events_out_;
    zmq::socket_t monitor_;  // disconnects on bus_: a dead worker is dropped at once
    std::map<std::string, Worker> workers_;        // by routing id
    std::map<std::string, std::string> sessions_;  // client/session -> worker
    std::deque<Waiting> waiting_;
    std::map<std::string, std::size_t> round_robin_;  // service -> next index
    // service -> when its last worker left in order; erased when a worker registers for it
    std::map<std::string, std::chrono::steady_clock::time_point> left_;
    BrokerStatus status_;
    LogLimit refusals_;                       // refused handshakes and bus messages, on this thread
    std::unique_ptr<Gatekeeper> gatekeeper_;  // last: its thread stops before the sockets close
};

}  // namespace tdc
