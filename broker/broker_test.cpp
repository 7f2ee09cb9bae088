// The broker over real ZeroMQ sockets (inproc, one context), run in a thread of the test.
#include "broker/broker.hpp"

#include <signal.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

#include "broker/broker_test_support.hpp"
#include "common/bus.hpp"
#include "common/log.hpp"
#include "common/subscription.hpp"

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

// Waits up to kWait for `socket`'s next message; throws so a test cannot hang.
TopicMessage next_message(zmq::socket_t& socket) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, kWait) == 0) {
        throw std::runtime_error("socket received nothing within 5 s");
    }
    return receive_topic_message(socket);
}

// A publisher's XPUB sees the broker's subscribe-all once the broker has connected to it:
// from then on nothing it publishes is dropped on its side.
zmq::socket_t connected_publisher(zmq::context_t& context, const std::string& events_in) {
    zmq::socket_t pub(context, zmq::socket_type::xpub);
    pub.connect(events_in);
    TopicMessage subscription = next_message(pub);
    EXPECT_EQ(subscription.topic.to_string(), std::string(1, '\x01'));
    return pub;
}

void publish(zmq::socket_t& pub, const std::string& topic, const std::string& body) {
    pub.send(zmq::buffer(topic), zmq::send_flags::sndmore);
    pub.send(zmq::buffer(body), zmq::send_flags::none);
}

// Runs the subscription handshake on `sub`; true when the broker answered within kWait.
bool handshake(zmq::socket_t& sub) {
    SubscriptionSync sync(sub);
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    while (zmq::poll(&item, 1, kWait) > 0) {
        TopicMessage message = receive_topic_message(sub);
        if (wire::is_sync_topic(message.topic.to_string_view()) && sync.on_sync_message(message)) {
            return wire::peek_kind(message.body) == wire::Subscribed::kKind;
        }
    }
    return false;
}

std::int64_t subscriptions_in_status(BusClient& client) {
    auto bytes = nlohmann::json::to_msgpack({{"kind", "status_request"}});
    client.send(kBrokerService, new_session_id(), zmq::message_t(bytes.data(), bytes.size()));
    auto reply = client.receive(kWait);
    if (!reply) {
        throw std::runtime_error("no status within 5 s");
    }
    const auto* data = static_cast<const std::uint8_t*>(reply->body.data());
    return nlohmann::json::from_msgpack(data,
                                        data + reply->body.size())["counters"]["subscriptions"];
}

// A subscriber used to lose the events published before its subscription had travelled to
// the publisher; once the handshake is answered, the very first event arrives.
TEST_F(BrokerTest, AfterTheHandshakeTheFirstEventArrivesByPrefix) {
    zmq::socket_t pub = connected_publisher(context_, endpoints_.events_in);
    zmq::socket_t sub(context_, zmq::socket_type::sub);
    sub.set(zmq::sockopt::subscribe, "ref");
    sub.connect(endpoints_.events_out);
    ASSERT_TRUE(handshake(sub));

    publish(pub, "other_view", "x");
    publish(pub, "reference_current_second", "y");

    TopicMessage message = next_message(sub);
    EXPECT_EQ(message.topic.to_string(), "reference_current_second");
    EXPECT_EQ(message.body.to_string(), "y");
}

zmq::socket_t subscriber(zmq::context_t& context, const std::string& events_out,
                         const std::string& prefix) {
    zmq::socket_t sub(context, zmq::socket_type::sub);
    sub.set(zmq::sockopt::subscribe, prefix);
    sub.connect(events_out);
    EXPECT_TRUE(handshake(sub));
    return sub;
}

TEST_F(BrokerTest, AnswerReachesTheAskerAndEmptyPrefixSubscribersOnly) {
    zmq::socket_t everything = subscriber(context_, endpoints_.events_out, "");
    zmq::socket_t views = subscriber(context_, endpoints_.events_out, "ref");
    zmq::socket_t asker = subscriber(context_, endpoints_.events_out, "x");
    zmq::socket_t pub = connected_publisher(context_, endpoints_.events_in);

    publish(pub, "reference_current_second", "z");

    EXPECT_EQ(next_message(views).topic.to_string(), "reference_current_second");
    for (int handshakes = 0; handshakes < 2; ++handshakes) {  // views' and asker's
        EXPECT_TRUE(wire::is_sync_topic(next_message(everything).topic.to_string_view()));
    }
    EXPECT_EQ(next_message(everything).topic.to_string(), "reference_current_second");
}

// Sync topics are the handshake's, not subscriptions to views: the status must not count
// them. They stay subscribed here, so a count that included them would show them.
TEST_F(BrokerTest, StatusCountsViewSubscriptionsButNotSyncTopics) {
    zmq::socket_t sub(context_, zmq::socket_type::sub);
    sub.set(zmq::sockopt::subscribe, "ref");
    sub.set(zmq::sockopt::subscribe, "other");
    sub.connect(endpoints_.events_out);
    for (const char* token : {"a", "b", "c"}) {
        std::string topic = std::string(wire::kSyncTopicPrefix) + token;
        sub.set(zmq::sockopt::subscribe, topic);
        ASSERT_EQ(next_message(sub).topic.to_string(), topic);
    }
    BusClient client(context_, endpoints_.bus);

    EXPECT_EQ(subscriptions_in_status(client), 2);
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

// The view stage's `refreshed` passes through on its way to the checker; failures and events
// are reported to the broker service; an upload is timed from its first message to its result.
TEST_F(BrokerTest, StatusShowsRefreshesFailuresEventsPerViewAndTimesUploads) {
    BusWorker checker(context_, endpoints_.bus, wire::kCheckerService);
    BusWorker loader(context_, endpoints_.bus, wire::kLoaderService);
    BusClient view_stage(context_, endpoints_.bus);
    BusClient http(context_, endpoints_.bus);
    wire::Refreshed refreshed;
    refreshed.view = "reference_current_second";
    refreshed.duration_ms = 1.5;
    refreshed.rows = 1;
    view_stage.send(wire::kCheckerService, "", wire::encode(refreshed));
    EXPECT_EQ(wire::decode<wire::Refreshed>(next(checker).body).rows, 1);
    wire::RefreshFailed failed;
    failed.view = "slow_view";
    failed.error = "statement timeout";
    ASSERT_TRUE(view_stage.try_send(kBrokerService, wire::encode(failed)));
    wire::EventPublished event;
    event.view = "reference_current_second";
    event.seq = 4;
    ASSERT_TRUE(view_stage.try_send(kBrokerService, wire::encode(event)));
    http.send(wire::kLoaderService, "u1", wire::encode(wire::LoadBegin{}));
    BusMessage begin = next(loader);
    wire::LoadResult result;
    result.ok = true;
    result.rows = 10;
    loader.reply(begin.route, wire::encode(result), true);
    ASSERT_TRUE(http.receive(kWait).has_value());
    auto bytes = nlohmann::json::to_msgpack({{"kind", "status_request"}});
    view_stage.send(kBrokerService, "q1", zmq::message_t(bytes.data(), bytes.size()));

    auto reply = view_stage.receive(kWait);

    ASSERT_TRUE(reply.has_value());
    const auto* data = static_cast<const std::uint8_t*>(reply->body.data());
    auto status = nlohmann::json::from_msgpack(data, data + reply->body.size());
    ASSERT_EQ(status["views"].size(), 2u) << status.dump();
    EXPECT_EQ(status["views"][0]["view"], "reference_current_second");
    EXPECT_EQ(status["views"][0]["last_refresh"]["rows"], 1);
    EXPECT_EQ(status["views"][0]["events"]["last_seq"], 4);
    EXPECT_EQ(status["views"][1]["last_refresh"]["error"], "statement timeout");
    EXPECT_EQ(status["histograms"]["refresh_seconds"]["reference_current_second"]["count"], 1);
    EXPECT_EQ(status["histograms"]["load_seconds"]["count"], 1);
    EXPECT_TRUE(status["uploads"][0]["duration_ms"].is_number()) << status.dump();
}

}  // namespace
}  // namespace tdc
