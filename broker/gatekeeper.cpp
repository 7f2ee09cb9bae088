#include "broker/gatekeeper.hpp"

#include <array>
#include <cstdio>
#include <cstring>
#include <iterator>

#include <zmq_addon.hpp>

#include "common/wire.hpp"

namespace tdc {

namespace {

// Where libzmq sends its authentication requests: one handler per context.
constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

AllowedKeys read_allowed(const BrokerSecurity& security) {
    AllowedKeys allowed;
    allowed.stages = read_public_keys("security.stage_keys", security.stage_keys);
    if (!security.subscriber_keys.empty()) {
        allowed.subscribers =
            read_public_keys("security.subscriber_keys", security.subscriber_keys);
    }
    return allowed;
}

// Which side notices a client without CURVE first is a race: the broker sees either the
// mismatch or the client closing the connection.
std::string why_refused(std::uint16_t event, std::uint32_t value) {
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        return std::string("the client left during the handshake (") + std::strerror(value) +
               "), as one without CURVE does";
    }
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
        value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
        return "the client does not use CURVE";
    }
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
        value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC) {
        return "the client's handshake does not decrypt (a wrong broker public key?)";
    }
    char code[16];
    std::snprintf(code, sizeof code, "0x%08x", value);
    return std::string("handshake failed, protocol error ") + code;
}

}  // namespace

std::optional<BrokerSecurity> load_broker_security(const Config& config) {
    const SecurityConfig& settings = config.security;
    if (!settings.curve) {
        return std::nullopt;
    }
    for (auto [key, path] : {std::pair{"security.broker_secret_key", &settings.broker_secret_key},
                             std::pair{"security.stage_keys", &settings.stage_keys}}) {
        if (path->empty()) {
            throw ConfigError("config " + config.file.string() + ": " + key +
                              ": required by the broker when security.curve is on");
        }
    }
    BrokerSecurity security;
    security.keys = read_secret_key("security.broker_secret_key", settings.broker_secret_key);
    security.stage_keys = settings.stage_keys;
    security.subscriber_keys = settings.subscriber_keys;
    read_allowed(security);  // fail at start, not at the first connection
    return security;
}

Admission admit(const std::string& domain, const std::string& key, const AllowedKeys& allowed) {
    bool stage = allowed.stages.count(key) > 0;
    bool subscriber = allowed.subscribers.count(key) > 0;
    if (domain != "bus" && domain != "events_in" && domain != "events_out") {
        return {false, "", "unknown endpoint"};
    }
    if (stage) {
        return {true, kStageUser, ""};
    }
    if (subscriber && domain != "events_in") {
        return {true, kSubscriberUser, ""};
    }
    if (subscriber) {
        return {false, "", "a subscriber key may not publish"};
    }
    return {false, "", "unknown key"};
}

std::string subscriber_bus_refusal(const std::vector<zmq::message_t>& frames) {
    if (frames.size() != 2) {
        return "a subscriber may not serve a service";
    }
    try {
        wire::Route route = wire::decode_route(frames[0]);
        if (route.service == wire::kCheckerService &&
            wire::peek_kind(frames[1]) == wire::ReplayRequest::kKind) {
            return "";
        }
    } catch (const wire::Error& e) {
        return e.what();
    }
    return "a subscriber may only send replay requests to the checker";
}

void log_refused_handshake(spdlog::logger& log, LogLimit& limit, const std::string& domain,
                           std::uint16_t event, std::uint32_t value) {
    std::string reason = why_refused(event, value);
    std::size_t suppressed = 0;
    if (limit.allow(domain + reason, suppressed)) {
        log.warn("connection refused endpoint={} reason=\"{}\" suppressed={}", domain, reason,
                 suppressed);
    }
}

Gatekeeper::Gatekeeper(zmq::context_t& context, BrokerSecurity security,
                       std::shared_ptr<spdlog::logger> log)
    : security_(std::move(security)),
      log_(std::move(log)),
      context_(context),
      allowed_(read_allowed(security_)),
      zap_(context, zmq::socket_type::rep),
      stop_in_(context, zmq::socket_type::pair),
      stop_out_(context, zmq::socket_type::pair) {
    for (auto* socket : {&zap_, &stop_in_, &stop_out_}) {
        socket->set(zmq::sockopt::linger, 0);
    }
    try {
        zap_.bind(kZapEndpoint);
    } catch (const zmq::error_t& e) {
        throw std::runtime_error(std::string("bind failed: ") + kZapEndpoint + ": " + e.what());
    }
    std::string stop =
        "inproc://gatekeeper-stop-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
    stop_in_.bind(stop);
    stop_out_.connect(stop);
    log_->info("curve on stage_keys={} subscriber_keys={}", allowed_.stages.size(),
               allowed_.subscribers.size());
}

Gatekeeper::~Gatekeeper() {
    if (thread_.joinable()) {
        stop_out_.send(zmq::str_buffer("stop"), zmq::send_flags::none);
        thread_.join();
    }
}

void Gatekeeper::watch(zmq::socket_t& socket, const std::string& domain) {
    std::string endpoint = "inproc://gatekeeper-monitor-" + domain + "-" +
                           std::to_string(reinterpret_cast<std::uintptr_t>(this));
    if (zmq_socket_monitor(socket.handle(), endpoint.c_str(), kRefusedHandshakeEvents) != 0) {
        throw std::runtime_error("monitor failed: " + endpoint + ": " + zmq_strerror(zmq_errno()));
    }
    zmq::socket_t monitor(context_, zmq::socket_type::pair);
    monitor.set(zmq::sockopt::linger, 0);
    monitor.connect(endpoint);
    monitors_.emplace_back(domain, std::move(monitor));
}

void Gatekeeper::start() {
    thread_ = std::thread([this] { run(); });
}

void Gatekeeper::run() {
    std::vector<zmq::pollitem_t> items = {{zap_.handle(), 0, ZMQ_POLLIN, 0},
                                          {stop_in_.handle(), 0, ZMQ_POLLIN, 0}};
    for (auto& monitor : monitors_) {
        items.push_back({monitor.second.handle(), 0, ZMQ_POLLIN, 0});
    }
    while ((items[1].revents & ZMQ_POLLIN) == 0) {
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(-1));
        if (items[0].revents & ZMQ_POLLIN) {
            on_request();
        }
        for (std::size_t i = 0; i < monitors_.size(); ++i) {
            if (items[2 + i].revents & ZMQ_POLLIN) {
                on_monitor(monitors_[i]);
            }
        }
    }
}

// A request is version, request id, domain, address, routing id, mechanism, credentials;
// the answer is version, request id, status code, status text, user id, metadata.
void Gatekeeper::on_request() {
    std::vector<zmq::message_t> request;
    (void)zmq::recv_multipart(zap_, std::back_inserter(request));
    std::string request_id = request.size() > 1 ? request[1].to_string() : "";
    Admission admission;
    std::string key;
    std::string domain = request.size() > 2 ? request[2].to_string() : "";
    std::string address = request.size() > 3 ? request[3].to_string() : "";
    if (request.size() == 7 && request[0].to_string() == "1.0" &&
        request[5].to_string() == "CURVE" && request[6].size() == 32) {
        char z85[41];
        zmq_z85_encode(z85, request[6].data<std::uint8_t>(), 32);
        key = z85;
        reload_allowed();
        admission = admit(domain, key, allowed_);
    } else {
        admission.reason = "not a CURVE request";
    }

    std::string status = admission.admitted ? "200" : "400";
    std::string text = admission.admitted ? "OK" : admission.reason;
    std::array<zmq::const_buffer, 6> reply = {zmq::str_buffer("1.0"),      zmq::buffer(request_id),
                                              zmq::buffer(status),         zmq::buffer(text),
                                              zmq::buffer(admission.user), zmq::const_buffer()};
    (void)zmq::send_multipart(zap_, reply);

    if (admission.admitted) {
        log_->debug("connection admitted endpoint={} address={} key={} as={}", domain, address,
                    fingerprint(key), admission.user);
        return;
    }
    std::size_t suppressed = 0;
    if (limit_.allow(domain + key + admission.reason, suppressed)) {
        log_->warn("connection refused endpoint={} address={} key={} reason=\"{}\" suppressed={}",
                   domain, address, fingerprint(key), admission.reason, suppressed);
    }
}

void Gatekeeper::on_monitor(std::pair<std::string, zmq::socket_t>& monitor) {
    std::vector<zmq::message_t> frames;
    (void)zmq::recv_multipart(monitor.second, std::back_inserter(frames));
    if (frames.empty() || frames[0].size() < 6) {
        return;
    }
    std::uint16_t event = 0;
    std::uint32_t value = 0;
    std::memcpy(&event, frames[0].data(), sizeof event);
    std::memcpy(&value, frames[0].data<char>() + 2, sizeof value);
    log_refused_handshake(*log_, limit_, monitor.first, event, value);
}

// The folders are read again for every connection, so a key added or removed takes effect
// at the client's next connection without restarting the broker.
void Gatekeeper::reload_allowed() {
    try {
        allowed_ = read_allowed(security_);
    } catch (const std::exception& e) {
        std::size_t suppressed = 0;
        if (limit_.allow("reload", suppressed)) {
            log_->warn("allowed keys kept reason=\"{}\" suppressed={}", e.what(), suppressed);
        }
    }
}

}  // namespace tdc
