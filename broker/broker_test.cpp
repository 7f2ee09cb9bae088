// The broker over real ZeroMQ sockets (inproc, one context), run in a thread of the test.
#include "broker/broker.hpp"

#include <signal.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

#include "broker/broker_test_support.hpp"
#include "common/bus.hpp"
#include "common/log.hpp"

namespace tdc {
namespace {

constexpr auto kWait = std::chrono::milliseconds(5000);

class BrokerTest : public ::testing::Test {
protected:
    void SetUp() override {
        endpoints_.bus = "inproc://bus";
        endpoints_.events_in = "inproc://events-in";
        endpoints_.events_out = "inproc://events-out";
        broker_ = std::make_unique<Broker>(context_, endpoints_, make_logger("broker", "warn"));
        thread_ = std::thread([this] { broker_->run(stop_); });
    }
    void TearDown() override {
        kill(getpid(), SIGTERM);  // blocked, so it only wakes the broker's signalfd
        thread_.join();
    }

    // Waits for the worker's next message; throws after kWait so a test cannot hang.
    BusMessage next(BusWorker& worker) {
        zmq::pollitem_t item{worker.socket().handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, kWait);
        if ((item.revents & ZMQ_POLLIN) == 0) {
            throw std::runtime_error("worker received nothing within 5 s");
        }
        return worker.receive();
    }

    StopSignal stop_;
    zmq::context_t context_;
    Endpoints endpoints_;
    std::unique_ptr<Broker> broker_;
    std::thread thread_;
};

wire::Refresh tick(std::int64_t n) {
    wire::Refresh refresh;
    refresh.tick = n;
    return refresh;
}

TEST_F(BrokerTest, SessionReachesWorkerAndReplyReachesClient) {
    BusWorker worker(context_, endpoints_.bus, "echo");
    BusClient client(context_, endpoints_.bus);
    client.send("echo", "s1", wire::encode(tick(1)));
    BusMessage request = next(worker);
    EXPECT_EQ(request.route.session, "s1");
    EXPECT_FALSE(request.route.client.empty());
    EXPECT_EQ(wire::decode<wire::Refresh>(request.body).tick, 1);
    worker.reply(request.route, wire::encode(tick(2)), true);
    auto reply = client.receive(kWait);
    ASSERT_TRUE(reply.has_value());
    EXPECT_TRUE(reply->route.last);
    EXPECT_EQ(wire::decode<wire::Refresh>(reply->body).tick, 2);
}

TEST_F(BrokerTest, SessionSticksToOneWorkerAndBusyWorkersGetNoNewSession) {
    BusWorker first(context_, endpoints_.bus, "load");
    BusWorker second(context_, endpoints_.bus, "load");
    BusClient a(context_, endpoints_.bus);
    BusClient b(context_, endpoints_.bus);
    a.send("load", "A", wire::encode(tick(1)));
    zmq::pollitem_t items[] = {{first.socket().handle(), 0, ZMQ_POLLIN, 0},
                               {second.socket().handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 2, kWait);
    BusWorker& owner = (items[0].revents & ZMQ_POLLIN) ? first : second;
    BusWorker& other = &owner == &first ? second : first;
    BusMessage opened = owner.receive();
    a.send("load", "A", wire::encode(tick(2)));
    b.send("load", "B", wire::encode(tick(10)));
    EXPECT_EQ(wire::decode<wire::Refresh>(next(owner).body).tick, 2);
    EXPECT_EQ(wire::decode<wire::Refresh>(next(other).body).tick, 10);
    owner.reply(opened.route, wire::encode(tick(3)), true);
    EXPECT_TRUE(a.receive(kWait).has_value());
}

TEST_F(BrokerTest, SessionWaitsForAFreeWorker) {
    BusWorker only(context_, endpoints_.bus, "load");
    BusClient a(context_, endpoints_.bus);
    BusClient b(context_, endpoints_.bus);
    a.send("load", "A", wire::encode(tick(1)));
    BusMessage first = next(only);
    b.send("load", "B", wire::encode(tick(2)));
    zmq::pollitem_t item{only.socket().handle(), 0, ZMQ_POLLIN, 0};
    EXPECT_EQ(zmq::poll(&item, 1, std::chrono::milliseconds(200)), 0)
        << "a busy worker was given a second session";
    only.reply(first.route, wire::encode(tick(0)), true);
    EXPECT_EQ(wire::decode<wire::Refresh>(next(only).body).tick, 2);
}

TEST_F(BrokerTest, SessionlessMessagesRotateOverWorkers) {
    BusWorker first(context_, endpoints_.bus, "view");
    BusWorker second(context_, endpoints_.bus, "view");
    BusClient ticker(context_, endpoints_.bus);
    // Registration is asynchronous: a message per worker proves both are known.
    for (int n = 1; n <= 4; ++n) {
        ticker.send("view", "", wire::encode(tick(n)));
    }
    int received = 0;
    zmq::pollitem_t items[] = {{first.socket().handle(), 0, ZMQ_POLLIN, 0},
                               {second.socket().handle(), 0, ZMQ_POLLIN, 0}};
    auto deadline = std::chrono::steady_clock::now() + kWait;
    while (received < 4 && std::chrono::steady_clock::now() < deadline) {
        zmq::poll(items, 2, std::chrono::milliseconds(100));
        for (int i = 0; i < 2; ++i) {
            if (items[i].revents & ZMQ_POLLIN) {
                (i == 0 ? first : second).receive();
                ++received;
            }
        }
    }
    EXPECT_EQ(received, 4);
}

TEST_F(BrokerTest, EventsFlowFromPublisherToSubscriberByPrefix) {
    zmq::socket_t pub(context_, zmq::socket_type::pub);
    zmq::socket_t sub(context_, zmq::socket_type::sub);
    pub.connect(endpoints_.events_in);
    sub.set(zmq::sockopt::subscribe, "ref");
    sub.connect(endpoints_.events_out);
    // The subscription travels to the publisher asynchronously: publish until it arrives.
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
        pub.send(zmq::str_buffer("other_view"), zmq::send_flags::sndmore);
        pub.send(zmq::str_buffer("x"), zmq::send_flags::none);
        pub.send(zmq::str_buffer("reference_current_second"), zmq::send_flags::sndmore);
        pub.send(zmq::str_buffer("y"), zmq::send_flags::none);
        if (zmq::poll(&item, 1, std::chrono::milliseconds(20)) > 0) {
            break;
        }
    }
    zmq::message_t topic;
    zmq::message_t body;
    ASSERT_TRUE(sub.recv(topic, zmq::recv_flags::dontwait));
    (void)sub.recv(body);
    EXPECT_EQ(topic.to_string(), "reference_current_second");
    EXPECT_EQ(body.to_string(), "y");
}

// A worker that died mid-session over TCP used to leave its client waiting for the heartbeat
// expiry (10 s); its closed connection now drops it at once.
TEST(BrokerOverTcpTest, WorkerWhoseConnectionClosesIsDroppedAtOnce) {
    StopSignal stop;
    zmq::context_t context;
    std::string bus = "tcp://127.0.0.1:" + std::to_string(test::free_port());
    Endpoints endpoints{bus, "inproc://tcp-events-in", "inproc://tcp-events-out"};
    Broker broker(context, endpoints, make_logger("broker-tcp", "warn"));
    std::thread thread([&] { broker.run(stop); });
    BusClient client(context, bus);
    {
        zmq::context_t worker_context;  // closing it closes the TCP connection, like a crash
        BusWorker worker(worker_context, bus, "echo");
        worker.socket().set(zmq::sockopt::linger, 0);
        client.send("echo", "s1", wire::encode(tick(1)));
        zmq::pollitem_t item{worker.socket().handle(), 0, ZMQ_POLLIN, 0};
        ASSERT_EQ(zmq::poll(&item, 1, kWait), 1);
        (void)worker.receive();
    }

    auto started = std::chrono::steady_clock::now();
    auto reply = client.receive(kWait);

    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(wire::peek_kind(reply->body), wire::Unavailable::kKind);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
    kill(getpid(), SIGTERM);
    thread.join();
}

TEST_F(BrokerTest, AnswersStatusWithWorkersLauncherSlotsAndTicks) {
    BusWorker worker(context_, endpoints_.bus, "view");
    BusClient client(context_, endpoints_.bus);
    client.send(wire::kViewService, "", wire::encode(tick(42)));
    (void)next(worker);
    auto [host, pid] = worker_host_pid(worker.socket().get(zmq::sockopt::routing_id));
    nlohmann::json report = {{"kind", "launcher_report"},
                             {"host", host},
                             {"pid", 1},
                             {"stages", {{{"stage", "view"}, {"pid", pid}, {"restarts", 2}}}}};
    auto bytes = nlohmann::json::to_msgpack(report);
    client.send(kBrokerService, "", zmq::message_t(bytes.data(), bytes.size()));
    bytes = nlohmann::json::to_msgpack({{"kind", "status_request"}});
    client.send(kBrokerService, "q1", zmq::message_t(bytes.data(), bytes.size()));

    auto reply = client.receive(kWait);

    ASSERT_TRUE(reply.has_value());
    const auto* data = static_cast<const std::uint8_t*>(reply->body.data());
    auto status = nlohmann::json::from_msgpack(data, data + reply->body.size());
    EXPECT_EQ(status["last_tick"]["tick"], 42);
    ASSERT_EQ(status["stages"].size(), 1u) << status.dump();
    EXPECT_EQ(status["stages"][0]["restarts"], 2);
    EXPECT_TRUE(status["stages"][0].contains("last_heartbeat_ms_ago")) << status.dump();
}

}  // namespace
}  // namespace tdc
