// The broker's side of CurveZMQ. With [security] curve on, the broker's three sockets are
// CURVE servers; libzmq asks the ZAP handler (RFC 27) at inproc://zeromq.zap.01 whether each
// client's public key may connect. The Gatekeeper answers from its own thread: stage keys
// may use every endpoint, subscriber keys only events_out and, on the bus, replay requests
// to the checker. Refused connections are logged at warn with the key's fingerprint.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/logger.h>
#include <zmq.hpp>

#include "common/config.hpp"
#include "common/curve.hpp"
#include "common/log.hpp"

namespace tdc {

struct BrokerSecurity {
    CurveKeyPair keys;                      // the broker's own pair
    std::filesystem::path stage_keys;       // folder of the stages' *.public keys
    std::filesystem::path subscriber_keys;  // folder of subscribers' *.public keys; empty: none
};

// Reads what config.security gives the broker; nullopt when curve is off. Throws ConfigError
// naming the key when broker_secret_key or stage_keys is unset, unreadable or malformed.
std::optional<BrokerSecurity> load_broker_security(const Config& config);

// The ZAP user id of a client's connection, readable on each of its messages ("User-Id").
inline constexpr const char* kStageUser = "stage";
inline constexpr const char* kSubscriberUser = "subscriber";

struct AllowedKeys {
    std::set<std::string> stages;
    std::set<std::string> subscribers;
};

struct Admission {
    bool admitted = false;
    std::string user;    // kStageUser or kSubscriberUser when admitted
    std::string reason;  // why not, when refused
};

// Whether the client with public `key` (Z85) may connect to the endpoint `domain`.
Admission admit(const std::string& domain, const std::string& key, const AllowedKeys& allowed);

// Why a bus message [route][body] from a subscriber is refused, or "" when it is a replay
// request to the checker, the one thing a subscriber may ask on the bus.
std::string subscriber_bus_refusal(const std::vector<zmq::message_t>& frames);

// Logs a failed handshake that a socket monitor reported (`event` and `value` as in
// zmq_socket_monitor), at warn, at most once per 10 s per endpoint and reason.
void log_refused_handshake(spdlog::logger& log, LogLimit& limit, const std::string& domain,
                           std::uint16_t event, std::uint32_t value);

// The monitor events log_refused_handshake explains. Refusals by key come from the ZAP
// handler, which knows the key.
inline constexpr int kRefusedHandshakeEvents =
    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;

class Gatekeeper {
public:
    // Reads the allowed keys and binds the ZAP handler in `context`. Throws ConfigError when a
    // key folder cannot be read, std::runtime_error when another handler is bound already.
    Gatekeeper(zmq::context_t& context, BrokerSecurity security,
               std::shared_ptr<spdlog::logger> log);
    // Stops and joins the thread.
    ~Gatekeeper();
    Gatekeeper(const Gatekeeper&) = delete;
    Gatekeeper& operator=(const Gatekeeper&) = delete;

    // Logs the failed handshakes on `socket` as `domain`. REQUIRES: start() not called yet.
    void watch(zmq::socket_t& socket, const std::string& domain);

    // Starts answering in its own thread.
    void start();

private:
    void run();
    void on_request();
    void on_monitor(std::pair<std::string, zmq::socket_t>& monitor);
    void reload_allowed();

    BrokerSecurity security_;
    std::shared_ptr<spdlog::logger> log_;
    zmq::context_t& context_;
    AllowedKeys allowed_;
    zmq::socket_t zap_;
    zmq::socket_t stop_in_;
    zmq::socket_t stop_out_;
    std::vector<std::pair<std::string, zmq::socket_t>> monitors_;  // domain, monitor
    LogLimit limit_;
    std::thread thread_;
};

}  // namespace tdc
