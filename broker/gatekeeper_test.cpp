// The broker with CURVE on, over real TCP sockets (CurveZMQ does not apply to inproc): who
// gets in with which key, and what a subscriber's key allows on the bus.
#include "broker/gatekeeper.hpp"

#include <signal.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>
#include <zmq_addon.hpp>

#include "broker/broker.hpp"
#include "broker/broker_test_support.hpp"
#include "common/bus.hpp"
#include "common/log.hpp"
#include "common/sockets.hpp"

namespace tdc {
namespace {

constexpr auto kWait = std::chrono::milliseconds(5000);

TEST(AdmitTest, StageKeysEverywhereSubscriberKeysNotOnEventsIn) {
    AllowedKeys allowed{{"S"}, {"U"}};
    for (const char* domain : {"bus", "events_in", "events_out"}) {
        EXPECT_EQ(admit(domain, "S", allowed).user, kStageUser) << domain;
        EXPECT_EQ(admit(domain, "X", allowed).reason, "unknown key") << domain;
    }
    EXPECT_EQ(admit("events_out", "U", allowed).user, kSubscriberUser);
    EXPECT_EQ(admit("bus", "U", allowed).user, kSubscriberUser);
    EXPECT_FALSE(admit("events_in", "U", allowed).admitted);
    EXPECT_FALSE(admit("elsewhere", "S", allowed).admitted);
}

std::vector<zmq::message_t> bus_frames(std::string_view service, zmq::message_t body) {
    wire::Route route;
    route.service = std::string(service);
    route.session = "s";
    std::vector<zmq::message_t> frames;
    frames.push_back(wire::encode(route));
    frames.push_back(std::move(body));
    return frames;
}

TEST(SubscriberBusTest, OnlyReplayRequestsToTheCheckerPass) {
    wire::ReplayRequest replay;
    replay.view = "v";
    wire::Refresh refresh;
    wire::Ready ready;
    ready.service = "loader";
    std::vector<zmq::message_t> announce;
    announce.push_back(wire::encode(ready));

    EXPECT_EQ(subscriber_bus_refusal(bus_frames(wire::kCheckerService, wire::encode(replay))), "");
    EXPECT_NE(subscriber_bus_refusal(bus_frames(wire::kCheckerService, wire::encode(refresh))), "");
    EXPECT_NE(subscriber_bus_refusal(bus_frames(wire::kLoaderService, wire::encode(replay))), "");
    EXPECT_EQ(subscriber_bus_refusal(announce), "a subscriber may not serve a service");
}

class GatekeeperTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("tdc-gatekeeper-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        broker_keys_ = write_key_pair(dir_ / "broker");
        stage_ = write_key_pair(dir_ / "stages" / "host");
        subscriber_ = write_key_pair(dir_ / "subscribers" / "alice");
        stranger_ = write_key_pair(dir_ / "stranger");
        const std::vector<int> ports = test::free_ports(3);
        endpoints_.bus = "tcp://127.0.0.1:" + std::to_string(ports[0]);
        endpoints_.events_in = "tcp://127.0.0.1:" + std::to_string(ports[1]);
        endpoints_.events_out = "tcp://127.0.0.1:" + std::to_string(ports[2]);
        BrokerSecurity security{broker_keys_, dir_ / "stages", dir_ / "subscribers"};
        broker_ = std::make_unique<Broker>(context_, endpoints_,
                                           make_logger("broker-curve", "error"), security);
        thread_ = std::thread([this] { broker_->run(stop_); });
    }
    void TearDown() override {
        kill(getpid(), SIGTERM);  // blocked, so it only wakes the broker's signalfd
        thread_.join();
        broker_.reset();
        std::filesystem::remove_all(dir_);
    }

    SocketPolicy as(const CurveKeyPair& keys) {
        SocketPolicy policy;
        policy.curve = SocketPolicy::Curve{keys, broker_keys_.public_key};
        return policy;
    }

    // Connects `socket` to `endpoint` and returns the first handshake outcome ZeroMQ reports
    // for it: ZMQ_EVENT_HANDSHAKE_SUCCEEDED or one of the ZMQ_EVENT_HANDSHAKE_FAILED_*.
    int connect_and_handshake(zmq::socket_t& socket, const std::string& endpoint) {
        std::string monitor_endpoint = "inproc://handshake-" + std::to_string(++monitors_);
        zmq_socket_monitor(socket.handle(), monitor_endpoint.c_str(),
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
        zmq::socket_t monitor(context_, zmq::socket_type::pair);
        monitor.connect(monitor_endpoint);
        socket.set(zmq::sockopt::linger, 0);
        socket.connect(endpoint);
        zmq::pollitem_t item{monitor.handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, kWait) == 0) {
            throw std::runtime_error("no handshake within 5 s: " + endpoint);
        }
        zmq::message_t event;
        zmq::message_t address;
        (void)monitor.recv(event);
        (void)monitor.recv(address);
        zmq_socket_monitor(socket.handle(), nullptr, 0);
        return *event.data<std::uint16_t>();
    }

    // Sends `body` to `service` over `socket`, a DEALER on the bus, in a new session unless
    // `sessionless`.
    static void send(zmq::socket_t& socket, std::string_view service, zmq::message_t body,
                     bool sessionless = false) {
        wire::Route route;
        route.service = std::string(service);
        route.session = sessionless ? "" : new_session_id();
        socket.send(wire::encode(route), zmq::send_flags::sndmore);
        socket.send(body, zmq::send_flags::none);
    }

    // The next message on `socket` as [route][body]; throws after kWait.
    static std::vector<zmq::message_t> next(zmq::socket_t& socket) {
        zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, kWait) == 0) {
            throw std::runtime_error("nothing received within 5 s");
        }
        std::vector<zmq::message_t> frames;
        (void)zmq::recv_multipart(socket, std::back_inserter(frames));
        return frames;
    }

    std::filesystem::path dir_;
    CurveKeyPair broker_keys_, stage_, subscriber_, stranger_;
    StopSignal stop_;
    zmq::context_t context_;
    Endpoints endpoints_;
    std::unique_ptr<Broker> broker_;
    std::thread thread_;
    int monitors_ = 0;
};

TEST_F(GatekeeperTest, StageKeyRegistersAndServes) {
    zmq::socket_t worker = client_socket(context_, zmq::socket_type::dealer, as(stage_));
    zmq::socket_t client = client_socket(context_, zmq::socket_type::dealer, as(stage_));
    ASSERT_EQ(connect_and_handshake(worker, endpoints_.bus), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    ASSERT_EQ(connect_and_handshake(client, endpoints_.bus), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    wire::Ready ready;
    ready.service = "echo";
    worker.send(wire::encode(ready), zmq::send_flags::none);

    send(client, "echo", wire::encode(wire::Refresh{}));

    EXPECT_EQ(wire::decode_route(next(worker)[0]).service, "echo");
}

TEST_F(GatekeeperTest, UnknownKeyAndNoKeyAreRefusedOnEveryEndpoint) {
    for (auto [endpoint, type] : {std::pair{endpoints_.bus, zmq::socket_type::dealer},
                                  std::pair{endpoints_.events_in, zmq::socket_type::pub},
                                  std::pair{endpoints_.events_out, zmq::socket_type::sub}}) {
        zmq::socket_t stranger = client_socket(context_, type, as(stranger_));
        zmq::socket_t plain = client_socket(context_, type, SocketPolicy{});
        EXPECT_EQ(connect_and_handshake(stranger, endpoint), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            << endpoint;
        EXPECT_EQ(connect_and_handshake(plain, endpoint), ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
            << endpoint;
    }
}

TEST_F(GatekeeperTest, SubscriberKeyReceivesEventsButCannotPublish) {
    zmq::socket_t publisher = client_socket(context_, zmq::socket_type::pub, as(stage_));
    zmq::socket_t subscriber = client_socket(context_, zmq::socket_type::sub, as(subscriber_));
    zmq::socket_t forger = client_socket(context_, zmq::socket_type::pub, as(subscriber_));
    subscriber.set(zmq::sockopt::subscribe, "");
    ASSERT_EQ(connect_and_handshake(forger, endpoints_.events_in), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    ASSERT_EQ(connect_and_handshake(publisher, endpoints_.events_in),
              ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    ASSERT_EQ(connect_and_handshake(subscriber, endpoints_.events_out),
              ZMQ_EVENT_HANDSHAKE_SUCCEEDED);

    // The subscription reaches the publisher asynchronously: publish until it arrives.
    zmq::pollitem_t item{subscriber.handle(), 0, ZMQ_POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + kWait;
    while (zmq::poll(&item, 1, std::chrono::milliseconds(20)) == 0 &&
           std::chrono::steady_clock::now() < deadline) {
        publisher.send(zmq::str_buffer("view"), zmq::send_flags::sndmore);
        publisher.send(zmq::str_buffer("event"), zmq::send_flags::none);
    }
    EXPECT_EQ(next(subscriber)[1].to_string(), "event");
}

// A subscriber's key opens the bus for replay requests; a `ready` sent over the same
// connection before one must not make it a worker of any service.
TEST_F(GatekeeperTest, SubscriberKeyMayAskForReplayButNotServe) {
    zmq::socket_t checker = client_socket(context_, zmq::socket_type::dealer, as(stage_));
    zmq::socket_t stage = client_socket(context_, zmq::socket_type::dealer, as(stage_));
    zmq::socket_t subscriber = client_socket(context_, zmq::socket_type::dealer, as(subscriber_));
    subscriber.set(zmq::sockopt::routing_id, "intruder@nowhere:1.1");
    ASSERT_EQ(connect_and_handshake(checker, endpoints_.bus), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    ASSERT_EQ(connect_and_handshake(stage, endpoints_.bus), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    ASSERT_EQ(connect_and_handshake(subscriber, endpoints_.bus), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    wire::Ready ready;
    ready.service = std::string(wire::kCheckerService);
    checker.send(wire::encode(ready), zmq::send_flags::none);
    send(stage, wire::kCheckerService, wire::encode(wire::Refresh{}), true);
    (void)next(checker);  // the checker is registered (and stays free: no session)

    subscriber.send(wire::encode(ready), zmq::send_flags::none);
    wire::ReplayRequest replay;
    replay.view = "v";
    send(subscriber, wire::kCheckerService, wire::encode(replay));
    auto request = next(checker);  // in order on one connection: the ready was handled
    EXPECT_EQ(wire::peek_kind(request[1]), wire::ReplayRequest::kKind);

    auto status_request = nlohmann::json::to_msgpack({{"kind", "status_request"}});
    send(stage, kBrokerService, zmq::message_t(status_request.data(), status_request.size()));
    auto status = next(stage);
    const auto* data = status[1].data<std::uint8_t>();
    std::string report = nlohmann::json::from_msgpack(data, data + status[1].size()).dump();
    EXPECT_EQ(report.find("intruder"), std::string::npos) << report;
}

}  // namespace
}  // namespace tdc
