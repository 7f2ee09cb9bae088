#include "broker/broker.hpp"

#include <algorithm>
#include <iterator>

#include "common/sockets.hpp"

namespace tdc {

namespace {

std::string session_key(const std::string& client, const std::string& session) {
    return client + '\x1f' + session;
}

// Reads one whole message; empty when none is there. Never waits for the first frame: a
// message that poll() or ZMQ_EVENTS announced can still be dropped with its peer's closing
// connection, and a wait for it would last until some other peer sends (at a stop, never).
// The other frames of a message arrive with its first.
std::vector<zmq::message_t> receive_all(zmq::socket_t& socket) {
    std::vector<zmq::message_t> frames(1);
    if (!socket.recv(frames.back(), zmq::recv_flags::dontwait)) {
        return {};
    }
    while (frames.back().more()) {
        frames.emplace_back();
        (void)socket.recv(frames.back());
    }
    return frames;
}

const CurveKeyPair* server_keys(const std::optional<BrokerSecurity>& security) {
    return security ? &security->keys : nullptr;
}

}  // namespace

Broker::Broker(zmq::context_t& context, const Endpoints& endpoints,
               std::shared_ptr<spdlog::logger> log, std::optional<BrokerSecurity> security)
    : log_(std::move(log)),
      bus_(server_socket(context, zmq::socket_type::router, "bus", server_keys(security))),
      events_in_(
          server_socket(context, zmq::socket_type::xsub, "events_in", server_keys(security))),
      events_out_(
          server_socket(context, zmq::socket_type::xpub, "events_out", server_keys(security))),
      monitor_(context, zmq::socket_type::pair) {
    start_gatekeeper(context, std::move(security));  // before binding: it admits the clients
    monitor_.set(zmq::sockopt::linger, 0);
    bus_.set(zmq::sockopt::router_mandatory, 1);
    bus_.set(zmq::sockopt::linger, 0);
    events_in_.set(zmq::sockopt::linger, 0);
    events_out_.set(zmq::sockopt::linger, 0);
    events_out_.set(zmq::sockopt::xpub_verboser, 1);  // every (un)subscription, for the count
    for (auto [socket, endpoint] :
         {std::pair{&bus_, &endpoints.bus}, std::pair{&events_in_, &endpoints.events_in},
          std::pair{&events_out_, &endpoints.events_out}}) {
        try {
            socket->bind(*endpoint);
        } catch (const zmq::error_t& e) {
            throw std::runtime_error("bind failed: " + *endpoint + ": " + e.what());
        }
        log_->info("broker bound endpoint={}", *endpoint);
    }
    subscribe_to_publishers();
    watch_disconnects();
}

void Broker::also_bind(const Endpoints& more) {
    for (auto [socket, endpoint] :
         {std::pair{&bus_, &more.bus}, std::pair{&events_in_, &more.events_in},
          std::pair{&events_out_, &more.events_out}}) {
        try {
            socket->bind(*endpoint);
        } catch (const zmq::error_t& e) {
            throw std::runtime_error("bind failed: " + *endpoint + ": " + e.what());
        }
        log_->info("broker bound endpoint={}", *endpoint);
    }
}

void Broker::run(StopSignal& stop) {
    zmq::pollitem_t items[] = {{bus_.handle(), 0, ZMQ_POLLIN, 0},
                               {events_in_.handle(), 0, ZMQ_POLLIN, 0},
                               {events_out_.handle(), 0, ZMQ_POLLIN, 0},
                               stop.poll_item(),
                               {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
    while (!stop.requested()) {
        zmq::poll(items, std::size(items), std::chrono::milliseconds(1000));
        if (items[4].revents & ZMQ_POLLIN) {
            on_monitor();  // before the bus, so a reused descriptor is not taken for the old
        }
        if (items[0].revents & ZMQ_POLLIN) {
            on_bus();
        }
        if (items[1].revents & ZMQ_POLLIN) {
            forward(events_in_, events_out_);
            status_.on_event();
        }
        if (items[2].revents & ZMQ_POLLIN) {
            on_subscription();
        }
        expire_workers();
        expire_waiting();
    }
    log_->info("broker stopping workers={} sessions={}", workers_.size(), sessions_.size());
}

void Broker::forward(zmq::socket_t& from, zmq::socket_t& to) {
    zmq::message_t frame;
    if (!from.recv(frame, zmq::recv_flags::dontwait)) {
        return;  // announced, then dropped with its peer (see receive_all)
    }
    for (;;) {
        bool more = frame.more();
        to.send(frame, more ? zmq::send_flags::sndmore : zmq::send_flags::none);
        if (!more) {
            return;
        }
        (void)from.recv(frame);
    }
}

void Broker::on_bus() {
    auto frames = receive_all(bus_);
    if (frames.size() < 2) {
        return;
    }
    std::string sender = frames[0].to_string();
    int fd = zmq_msg_get(frames.back().handle(), ZMQ_SRCFD);
    frames.erase(frames.begin());
    if (!admitted_on_bus(sender, frames)) {
        return;
    }
    try {
        bool is_ready = frames.size() == 1;
        if (is_ready || workers_.count(sender) > 0) {
            on_worker(sender, frames);
            if (auto it = workers_.find(sender); it != workers_.end()) {
                it->second.fd = fd;
            }
        } else {
            on_client(sender, frames);
        }
    } catch (const wire::Error& e) {
        log_->warn("bus message dropped sender={} reason=\"{}\"", sender, e.what());
    }
}

void Broker::on_worker(const std::string& worker, std::vector<zmq::message_t>& frames) {
    if (frames.size() == 1 && wire::peek_kind(frames[0]) == wire::Leaving::kKind) {
        (void)wire::decode<wire::Leaving>(frames[0]);
        drop_worker(worker, "left", true);
        return;
    }
    if (frames.size() == 1) {
        auto ready = wire::decode<wire::Ready>(frames[0]);
        left_.erase(ready.service);
        auto [it, added] = workers_.try_emplace(worker, Worker{ready.service, "", {}});
        it->second.last_seen = std::chrono::steady_clock::now();
        if (added) {
            log_->info("worker registered worker={} service={}", worker, ready.service);
            dispatch_waiting();
        }
        return;
    }
    Worker& state = workers_.at(worker);
    state.last_seen = std::chrono::steady_clock::now();
    wire::Route route = wire::decode_route(frames[0]);
    std::string client = route.client;
    if (route.last && !route.session.empty()) {
        sessions_.erase(session_key(client, route.session));
        state.session.clear();
    }
    observe_worker(state, route, frames[1]);
    send_to_client(client, route, std::move(frames[1]));
    if (state.session.empty()) {
        dispatch_waiting();
    }
}

void Broker::on_client(const std::string& client, std::vector<zmq::message_t>& frames) {
    if (frames.size() != 2) {
        throw wire::Error("client message has " + std::to_string(frames.size()) +
                          " frames, expected route and body");
    }
    wire::Route route = wire::decode_route(frames[0]);
    if (!route.client.empty()) {
        // A worker's reply, from a worker this broker does not know: one that answers a
        // client of the broker before a restart, or one dropped while silent. Its client is
        // gone; taken for a request, the reply would reach a worker and pin it.
        log_->info("reply dropped worker={} session={} reason=\"unknown worker\"", client,
                   route.session);
        return;
    }
    route.client = client;
    route.last = false;
    if (route.service == kBrokerService) {
        on_broker_request(client, route, frames[1]);
        return;
    }
    observe_client(route, frames[1]);
    if (!route.session.empty()) {
        route_to_session(client, std::move(route), std::move(frames[1]));
        return;
    }
    std::string worker = any_worker(route.service);
    if (worker.empty() && left_recently(route.service)) {
        log_->info("message dropped service={} reason=\"its workers left\"", route.service);
        return;
    }
    if (worker.empty()) {
        log_->warn("message dropped service={} reason=\"no worker registered\"", route.service);
        return;
    }
    send_to_worker(worker, route, std::move(frames[1]));
}

void Broker::route_to_session(const std::string& client, wire::Route route, zmq::message_t body) {
    std::string key = session_key(client, route.session);
    if (auto it = sessions_.find(key); it != sessions_.end()) {
        send_to_worker(it->second, route, std::move(body));
        return;
    }
    auto waiting = std::find_if(waiting_.begin(), waiting_.end(),
                                [&](const Waiting& w) { return w.key == key; });
    if (waiting != waiting_.end()) {
        if (waiting->messages.size() >= kMaxWaitingMessages) {
            refuse_waiting(waiting, "more than " + std::to_string(kMaxWaitingMessages) +
                                        " messages sent before a " + route.service + " was free");
            return;
        }
        waiting->messages.emplace_back(std::move(route), std::move(body));
        return;
    }
    auto same_service = std::count_if(waiting_.begin(), waiting_.end(), [&](const Waiting& w) {
        return w.messages.front().first.service == route.service;
    });
    if (static_cast<std::size_t>(same_service) >= kMaxWaitingSessions ||
        waiting_.size() >= kMaxWaitingTotal) {
        unavailable(client, route, "too many sessions waiting for a " + route.service);
        return;
    }
    Waiting entry{key, client, {}, std::chrono::steady_clock::now()};
    entry.messages.emplace_back(std::move(route), std::move(body));
    waiting_.push_back(std::move(entry));
    dispatch_waiting();
}

void Broker::dispatch_waiting() {
    for (auto it = waiting_.begin(); it != waiting_.end();) {
        const std::string& service = it->messages.front().first.service;
        std::string worker = free_worker(service);
        if (worker.empty()) {
            ++it;
            continue;
        }
        const std::string& session = it->messages.front().first.session;
        workers_.at(worker).session = session;
        sessions_[it->key] = worker;
        Waiting entry = std::move(*it);
        it = waiting_.erase(it);
        for (auto& [route, body] : entry.messages) {
            if (!send_to_worker(worker, route, std::move(body))) {
                break;
            }
        }
        it = waiting_.begin();  // the container changed; start over
    }
}

bool Broker::send_to_worker(const std::string& worker, const wire::Route& route,
                            zmq::message_t body) {
    std::string error;
    try {
        if (send_on_bus(worker, route, body)) {
            return true;
        }
        error = "its queue is full: it stopped reading";
    } catch (const zmq::error_t& e) {
        error = e.what();
    }
    drop_worker(worker, error);
    if (!route.session.empty()) {
        unavailable(route.client, route, route.service + " worker went away");
    }
    return false;
}

void Broker::send_to_client(const std::string& client, const wire::Route& route,
                            zmq::message_t body) {
    try {
        if (!send_on_bus(client, route, body)) {
            log_->debug("reply dropped client_full session={}", route.session);
        }
    } catch (const zmq::error_t& e) {
        log_->debug("reply dropped client_gone session={} reason=\"{}\"", route.session, e.what());
    }
}

// Never waits: with ROUTER_MANDATORY a blocking send to a peer whose queue is full would wait
// for it to read, and a broker waiting on one peer serves nobody, not even its own stop.
bool Broker::send_on_bus(const std::string& peer, const wire::Route& route, zmq::message_t& body) {
    if (!bus_.send(zmq::buffer(peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        return false;
    }
    // Once the first frame is queued, the message's other frames are taken whole.
    bus_.send(wire::encode(route), zmq::send_flags::sndmore);
    bus_.send(body, zmq::send_flags::none);
    return true;
}

void Broker::unavailable(const std::string& client, const wire::Route& route,
                         const std::string& reason) {
    wire::Unavailable message;
    message.service = route.service;
    message.reason = reason;
    wire::Route back = route;
    back.last = true;
    log_->warn("session refused service={} session={} reason=\"{}\"", route.service, route.session,
               reason);
    if (route.service == wire::kLoaderService) {
        status_.on_upload_refused(client, route.session, reason);
    }
    send_to_client(client, back, wire::encode(message));
}

// `left`: the worker said it leaves, a lifecycle event logged at info; otherwise it is taken
// for dead, at warn.
void Broker::drop_worker(const std::string& worker, const std::string& reason, bool left) {
    auto it = workers_.find(worker);
    if (it == workers_.end()) {
        return;
    }
    std::string service = it->second.service;
    if (left) {
        log_->info("worker left worker={} service={}", worker, service);
    } else {
        log_->warn("worker dropped worker={} service={} reason=\"{}\"", worker, service, reason);
        status_.on_worker_dropped();
    }
    for (auto s = sessions_.begin(); s != sessions_.end();) {
        if (s->second != worker) {
            ++s;
            continue;
        }
        std::string client = s->first.substr(0, s->first.find('\x1f'));
        wire::Route route;
        route.service = it->second.service;
        route.session = s->first.substr(s->first.find('\x1f') + 1);
        s = sessions_.erase(s);
        unavailable(client, route, route.service + " worker went away: " + reason);
    }
    workers_.erase(it);
    bool last = std::none_of(workers_.begin(), workers_.end(),
                             [&](const auto& entry) { return entry.second.service == service; });
    if (left && last) {
        left_[service] = std::chrono::steady_clock::now();
    }
}

bool Broker::left_recently(const std::string& service) const {
    auto it = left_.find(service);
    return it != left_.end() && std::chrono::steady_clock::now() - it->second < kLeftGrace;
}

void Broker::expire_workers() {
    auto now = std::chrono::steady_clock::now();
    std::vector<std::string> expired;
    for (const auto& [id, worker] : workers_) {
        if (now - worker.last_seen > kWorkerExpiry) {
            expired.push_back(id);
        }
    }
    for (const auto& id : expired) {
        drop_worker(id, "silent for more than " + std::to_string(kWorkerExpiry.count()) + " s");
    }
}

void Broker::expire_waiting() {
    auto now = std::chrono::steady_clock::now();
    for (auto it = waiting_.begin(); it != waiting_.end();) {
        if (now - it->since <= kWaitingExpiry) {
            ++it;
            continue;
        }
        std::string service = it->messages.front().first.service;
        refuse_waiting(it, "no " + service + " was free within " +
                               std::to_string(kWaitingExpiry.count()) + " s");
        it = waiting_.begin();  // the container changed; start over
    }
}

void Broker::refuse_waiting(std::deque<Waiting>::iterator it, const std::string& reason) {
    Waiting entry = std::move(*it);
    waiting_.erase(it);
    unavailable(entry.client, entry.messages.front().first, reason);
}

std::string Broker::free_worker(const std::string& service) const {
    for (const auto& [id, worker] : workers_) {
        if (worker.service == service && worker.session.empty()) {
            return id;
        }
    }
    return {};
}

std::string Broker::any_worker(const std::string& service) {
    std::vector<std::string> candidates;
    for (const auto& [id, worker] : workers_) {
        if (worker.service == service) {
            candidates.push_back(id);
        }
    }
    if (candidates.empty()) {
        return {};
    }
    std::size_t& next = round_robin_[service];
    return candidates[next++ % candidates.size()];
}

}  // namespace tdc
