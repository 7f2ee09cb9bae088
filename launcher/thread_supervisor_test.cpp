// Supervision of stage threads. The stages are faked at the project's own seam, the
// StageBody the launcher runs on each thread.
#include "launcher/thread_supervisor.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "launcher/test_support.hpp"

namespace tdc {
namespace {

using namespace std::chrono_literals;
using test::LogCapture;

// A threads-mode configuration that runs only the stages in `counts`.
Config threads_config(const std::map<std::string, int>& counts) {
    Config config;
    config.launch_mode = LaunchMode::kThreads;
    for (const auto& stage : kStageNames) {
        config.processes[stage] = 0;
    }
    for (const auto& [stage, count] : counts) {
        config.processes[stage] = count;
    }
    return config;
}

SupervisorPolicy fast_policy() {
    SupervisorPolicy policy;
    policy.first_backoff = 20ms;
    policy.max_backoff = 80ms;
    policy.poll_interval = 10ms;
    return policy;
}

// What the fake stages saw, written from their threads.
class Record {
public:
    void add(const std::string& what) {
        std::lock_guard<std::mutex> lock(mutex_);
        entries_.push_back(what);
    }
    std::vector<std::string> entries() {
        std::lock_guard<std::mutex> lock(mutex_);
        return entries_;
    }
    int count(const std::string& what) {
        auto all = entries();
        return static_cast<int>(std::count(all.begin(), all.end(), what));
    }

private:
    std::mutex mutex_;
    std::vector<std::string> entries_;
};

std::string current_thread_name() {
    char name[16] = {0};
    pthread_getname_np(pthread_self(), name, sizeof name);
    return name;
}

class ThreadSupervisorTest : public ::testing::Test {
protected:
    std::shared_ptr<LogCapture> capture_ = std::make_shared<LogCapture>();
    std::shared_ptr<spdlog::logger> log_ = test::capturing_logger(capture_);
    Record record_;
};

TEST(InProcessEndpoints, AreInprocWhenTheBrokerRunsHereAndTheConfiguredOnesOtherwise) {
    Config config = threads_config({{"broker", 1}, {"loader", 1}});
    Endpoints local = in_process_endpoints(config);
    EXPECT_EQ(local.bus, "inproc://tdc-bus");
    EXPECT_EQ(local.events_in, "inproc://tdc-events-in");
    EXPECT_EQ(local.events_out, "inproc://tdc-events-out");

    config.processes["broker"] = 0;  // the broker runs on another host
    EXPECT_EQ(in_process_endpoints(config).bus, config.endpoints.bus);
}

TEST_F(ThreadSupervisorTest, RestartsAStageThreadThatThrowsWithBackoffThenGivesUp) {
    StopSignal stop;
    auto body = [&](const std::string& stage, const Config&, zmq::context_t&, StopSignal&) -> int {
        record_.add(stage);
        throw std::runtime_error("lost the plot");
    };
    ThreadSupervisor supervisor(threads_config({{"loader", 1}}), body, log_, fast_policy());

    test::BackgroundRun run([&] { return supervisor.run(stop); });

    EXPECT_EQ(run.result(), 1);  // no stage left
    EXPECT_EQ(record_.count("loader"), 5);
    EXPECT_EQ(capture_->count({"stage started stage=loader", "thread=tdc-loader"}), 5);
    EXPECT_EQ(capture_->count({"stage exited stage=loader", "exception=\"lost the plot\""}), 4);
    for (const char* delay : {"restart_in_ms=20", "restart_in_ms=40"}) {
        EXPECT_EQ(capture_->count({"stage exited", delay}), 1) << delay;
    }
    EXPECT_EQ(capture_->count({"stage exited", "restart_in_ms=80"}), 2);
    EXPECT_EQ(capture_->count({"[error]", "stage given up stage=loader", "lost the plot"}), 1);
}

TEST_F(ThreadSupervisorTest, StopsOneStageAtATimeInReverseStartOrderOnSigterm) {
    StopSignal stop;
    std::atomic<int> started{0};
    std::set<zmq::context_t*> contexts;
    auto body = [&](const std::string& stage, const Config&, zmq::context_t& context,
                    StopSignal& own) -> int {
        record_.add("name " + current_thread_name());
        {
            static std::mutex mutex;
            std::lock_guard<std::mutex> lock(mutex);
            contexts.insert(&context);
        }
        ++started;
        zmq::pollitem_t item = own.poll_item();
        while (!own.requested()) {
            zmq::poll(&item, 1, 1000ms);
        }
        record_.add("stopped " + stage);
        return 0;
    };
    ThreadSupervisor supervisor(threads_config({{"broker", 1}, {"loader", 2}, {"http", 1}}), body,
                                log_, fast_policy());
    test::BackgroundRun run([&] { return supervisor.run(stop); });

    ASSERT_TRUE(test::wait_until([&] { return started == 4; }));
    kill(getpid(), SIGTERM);

    EXPECT_EQ(run.result(), 0);
    // Each stage is asked to stop only once the stage after it has ended.
    std::vector<std::string> stops;
    for (const auto& entry : record_.entries()) {
        if (entry.rfind("stopped ", 0) == 0) {
            stops.push_back(entry);
        }
    }
    EXPECT_EQ(stops, (std::vector<std::string>{"stopped http", "stopped loader", "stopped loader",
                                               "stopped broker"}));
    EXPECT_EQ(capture_->count({"stage stopped", "exit_code=0"}), 4);
    EXPECT_EQ(capture_->count({"stage exited"}), 0);
    EXPECT_EQ(contexts.size(), 1u) << "every stage thread gets the one shared context";
    EXPECT_EQ(record_.count("name tdc-loader"), 2);
    EXPECT_EQ(record_.count("name tdc-broker"), 1);
}

TEST_F(ThreadSupervisorTest, ABrokerThreadThatEndsTakesTheOtherStagesDownAndUpWithIt) {
    StopSignal stop;
    std::atomic<int> broker_starts{0};
    std::atomic<int> loader_starts{0};
    auto body = [&](const std::string& stage, const Config&, zmq::context_t&,
                    StopSignal& own) -> int {
        if (stage == "broker" && ++broker_starts == 1) {
            test::wait_until([&] { return loader_starts == 1; });
            throw std::runtime_error("broker fell over");
        }
        if (stage == "loader") {
            ++loader_starts;
        }
        while (!own.wait_for(1000ms)) {
        }
        return 0;
    };
    ThreadSupervisor supervisor(threads_config({{"broker", 1}, {"loader", 1}}), body, log_,
                                fast_policy());
    test::BackgroundRun run([&] { return supervisor.run(stop); });

    ASSERT_TRUE(test::wait_until([&] { return broker_starts == 2 && loader_starts == 2; }));
    kill(getpid(), SIGTERM);

    EXPECT_EQ(run.result(), 0);
    EXPECT_EQ(capture_->count({"stage exited stage=broker", "broker fell over"}), 1);
    EXPECT_EQ(capture_->count({"stage restarting with the broker stage=loader"}), 1);
    EXPECT_EQ(capture_->count({"stage exited stage=loader"}), 0) << "not counted as a failure";
}

// Over real inproc:// sockets on the shared context: what the restart with the broker is for.
// The stages, and the launcher's status reports, reach the broker's second thread.
TEST_F(ThreadSupervisorTest, AfterTheBrokerRestartsTheStagesReachItOverInprocAgain) {
    StopSignal stop;
    std::atomic<int> broker_starts{0};
    std::atomic<int> greeted{0};  // hellos that reached the second broker
    std::atomic<int> reports{0};  // the launcher's status reports that reached it
    auto body = [&](const std::string& stage, const Config& config, zmq::context_t& context,
                    StopSignal& own) -> int {
        std::string endpoint = in_process_endpoints(config).bus;
        if (stage == "loader") {
            zmq::socket_t dealer(context, zmq::socket_type::dealer);
            dealer.set(zmq::sockopt::linger, 0);
            dealer.connect(endpoint);
            dealer.send(zmq::str_buffer("hello"), zmq::send_flags::none);
            while (!own.wait_for(1000ms)) {
            }
            return 0;
        }
        zmq::socket_t router(context, zmq::socket_type::router);
        router.set(zmq::sockopt::linger, 0);
        router.bind(endpoint);
        int start = ++broker_starts;
        zmq::pollitem_t items[] = {{router.handle(), 0, ZMQ_POLLIN, 0}, own.poll_item()};
        while (!own.requested()) {
            zmq::poll(items, 2, 1000ms);
            if ((items[0].revents & ZMQ_POLLIN) == 0) {
                continue;
            }
            zmq::message_t frame;
            do {  // [identity][hello] from the loader; the launcher's reports come here too
                (void)router.recv(frame);
            } while (frame.more());
            if (start > 1 && frame.to_string().find("launcher_report") != std::string::npos) {
                ++reports;
            }
            if (frame.to_string() != "hello") {
                continue;
            }
            if (start == 1) {
                throw std::runtime_error("broker fell over after the first hello");
            }
            ++greeted;
        }
        return 0;
    };
    SupervisorPolicy policy = fast_policy();
    policy.first_backoff = 200ms;  // the closed socket's endpoint is released in the background
    ThreadSupervisor supervisor(threads_config({{"broker", 1}, {"loader", 1}}), body, log_, policy);
    test::BackgroundRun run([&] { return supervisor.run(stop); });

    ASSERT_TRUE(test::wait_until([&] { return greeted == 1 && reports > 0; }));
    kill(getpid(), SIGTERM);

    EXPECT_EQ(run.result(), 0);
    EXPECT_EQ(broker_starts, 2);
}

TEST_F(ThreadSupervisorTest, AThreadThatIgnoresItsStopIsReportedStuck) {
    StopSignal stop;
    std::atomic<bool> started{false};
    std::atomic<bool> release{false};
    auto body = [&](const std::string&, const Config&, zmq::context_t&, StopSignal&) -> int {
        started = true;
        test::wait_until([&] { return release.load(); }, 60s);
        return 0;
    };
    SupervisorPolicy policy = fast_policy();
    policy.stop_timeout = 200ms;
    auto supervisor =
        std::make_unique<ThreadSupervisor>(threads_config({{"loader", 1}}), body, log_, policy);
    test::BackgroundRun run([&] { return supervisor->run(stop); });

    ASSERT_TRUE(test::wait_until([&] { return started.load(); }));
    kill(getpid(), SIGTERM);

    EXPECT_EQ(run.result(), 1);
    EXPECT_TRUE(supervisor->stuck());
    EXPECT_EQ(capture_->count({"[error]", "stage stuck stage=loader"}), 1);
    release = true;  // lets the destructor join it
    supervisor.reset();
}

TEST_F(ThreadSupervisorTest, OnlyTheStuckStageIsNamedTheOnesAfterItStillStop) {
    StopSignal stop;
    std::atomic<int> started{0};
    std::atomic<bool> release{false};
    auto body = [&](const std::string& stage, const Config&, zmq::context_t&,
                    StopSignal& own_stop) -> int {
        ++started;
        if (stage == "http") {  // stopped first, and it ignores its stop
            test::wait_until([&] { return release.load(); }, 60s);
        } else {
            own_stop.wait_for(60s);
        }
        return 0;
    };
    SupervisorPolicy policy = fast_policy();
    policy.stop_timeout = 200ms;
    auto supervisor = std::make_unique<ThreadSupervisor>(
        threads_config({{"http", 1}, {"loader", 1}, {"broker", 1}}), body, log_, policy);
    test::BackgroundRun run([&] { return supervisor->run(stop); });

    ASSERT_TRUE(test::wait_until([&] { return started == 3; }));
    kill(getpid(), SIGTERM);

    EXPECT_EQ(run.result(), 1);
    EXPECT_EQ(capture_->count({"[error]", "stage stuck stage=http"}), 1);
    EXPECT_EQ(capture_->count({"stage stuck stage=loader"}), 0);
    EXPECT_EQ(capture_->count({"stage stuck stage=broker"}), 0);
    EXPECT_EQ(capture_->count({"stage stopped stage=loader"}), 1);
    EXPECT_EQ(capture_->count({"stage stopped stage=broker"}), 1);
    release = true;
    supervisor.reset();
}

}  // namespace
}  // namespace tdc
