// Supervision tests. The stages are faked at the project's own seam: `self_exe` is a small
// shell script, run exactly as the real binary would be (`<exe> <stage> --config <file>`).
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "launcher/launcher.hpp"
#include "launcher/supervisor.hpp"
#include "launcher/test_support.hpp"

namespace tdc {
namespace {

using namespace std::chrono_literals;
using test::LogCapture;

// A configuration that runs only the stages in `counts`.
Config config_with(const std::map<std::string, int>& counts) {
    Config config;
    config.file = "/nonexistent/tinydevcrm.toml";  // only passed on; the fakes ignore it
    for (const auto& stage : kStageNames) {
        config.processes[stage] = 0;
    }
    for (const auto& [stage, count] : counts) {
        config.processes[stage] = count;
    }
    return config;
}

// The default policy with short delays, so that giving up takes milliseconds.
SupervisorPolicy fast_policy() {
    SupervisorPolicy policy;
    policy.first_backoff = 20ms;
    policy.max_backoff = 80ms;
    policy.poll_interval = 10ms;
    return policy;
}

class SupervisorTest : public ::testing::Test {
protected:
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // A fake tinydevcrm that first appends a line to <dir>/<stage>.started, then runs `body`.
    std::filesystem::path fake_exe(const std::string& body) {
        auto exe = dir_ / "tinydevcrm";
        test::write_script(exe, "echo started >> \"$(dirname \"$0\")/$1.started\"\n" + body);
        return exe;
    }

    int starts(const std::string& stage) { return test::line_count(dir_ / (stage + ".started")); }

    std::filesystem::path dir_ = test::make_temp_dir();
    std::shared_ptr<LogCapture> capture_ = std::make_shared<LogCapture>();
    std::shared_ptr<spdlog::logger> log_ = test::capturing_logger(capture_);
};

TEST(RestartTracker, DoublesTheDelayAndGivesUpAfterFiveQuickFailures) {
    RestartTracker tracker{SupervisorPolicy{}};
    EXPECT_EQ(tracker.on_exit(1s), 500ms);
    EXPECT_EQ(tracker.on_exit(1s), 1000ms);
    EXPECT_EQ(tracker.on_exit(1s), 2000ms);
    EXPECT_EQ(tracker.on_exit(1s), 4000ms);
    EXPECT_EQ(tracker.on_exit(1s), std::nullopt);
}

TEST(RestartTracker, CapsTheDelayAndResetsItAfterAHealthyRun) {
    RestartTracker tracker{SupervisorPolicy{}};
    for (auto expected : {500ms, 1000ms, 2000ms, 4000ms, 8000ms, 10000ms, 10000ms}) {
        EXPECT_EQ(tracker.on_exit(6s), expected);  // 6 s is not quick: never gives up
    }
    EXPECT_EQ(tracker.on_exit(31s), 500ms);
}

TEST(RestartTracker, ASlowExitClearsTheQuickFailureCount) {
    RestartTracker tracker{SupervisorPolicy{}};
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(tracker.on_exit(1s));
    }
    EXPECT_TRUE(tracker.on_exit(6s));
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(tracker.on_exit(1s));
    }
    EXPECT_FALSE(tracker.on_exit(1s));
}

TEST_F(SupervisorTest, RestartsAStageThatExitsWithBackoffThenGivesUp) {
    StopSignal stop;
    Supervisor supervisor(config_with({{"loader", 1}}), fake_exe("exit 3\n"), log_, fast_policy());

    test::BackgroundRun run([&] { return supervisor.run(stop); });

    EXPECT_EQ(run.result(), 1);  // no stage left

    EXPECT_EQ(starts("loader"), 5);
    EXPECT_EQ(capture_->count({"stage started stage=loader", "instance=1"}), 5);
    EXPECT_EQ(capture_->count({"stage exited stage=loader", "status=3"}), 4);
    for (const char* delay : {"restart_in_ms=20", "restart_in_ms=40"}) {
        EXPECT_EQ(capture_->count({"stage exited", delay}), 1) << delay;
    }
    EXPECT_EQ(capture_->count({"stage exited", "restart_in_ms=80"}), 2);
    EXPECT_EQ(capture_->count({"[error]", "stage given up stage=loader", "status=3"}), 1);
}

TEST_F(SupervisorTest, StopsStagesInReverseStartOrderOnSigterm) {
    StopSignal stop;
    Supervisor supervisor(config_with({{"broker", 1}, {"loader", 2}, {"http", 1}}),
                          fake_exe("exec sleep 600\n"), log_, fast_policy());
    test::BackgroundRun run([&] { return supervisor.run(stop); });

    ASSERT_TRUE(test::wait_until(
        [&] { return starts("broker") == 1 && starts("loader") == 2 && starts("http") == 1; }));
    kill(getpid(), SIGTERM);

    // 0 also shows the children had SIGTERM unblocked: blocked, they would need a SIGKILL.
    EXPECT_EQ(run.result(), 0);
    EXPECT_EQ(capture_->count({"stage stopped", "signal=15"}), 4);
    int http = capture_->index_of("stage stopped stage=http");
    int loader = capture_->index_of("stage stopped stage=loader");
    int broker = capture_->index_of("stage stopped stage=broker");
    EXPECT_TRUE(http >= 0 && http < loader && loader < broker) << http << loader << broker;
    EXPECT_EQ(capture_->count({"stage exited"}), 0);
}

TEST_F(SupervisorTest, KillsAStageThatIgnoresSigterm) {
    StopSignal stop;
    SupervisorPolicy policy = fast_policy();
    policy.stop_timeout = 300ms;
    Supervisor supervisor(config_with({{"loader", 1}}),
                          fake_exe("trap '' TERM\nwhile :; do sleep 0.05; done\n"), log_, policy);
    test::BackgroundRun run([&] { return supervisor.run(stop); });

    ASSERT_TRUE(test::wait_until([&] { return starts("loader") == 1; }));
    kill(getpid(), SIGTERM);

    EXPECT_EQ(run.result(), 1);
    EXPECT_EQ(capture_->count({"[warning]", "stage killed stage=loader"}), 1);
}

TEST_F(SupervisorTest, KeepsTheOtherStagesRunningAfterGivingUpOnOne) {
    StopSignal stop;
    Supervisor supervisor(config_with({{"broker", 1}, {"loader", 1}}),
                          fake_exe("[ \"$1\" = loader ] && exit 7\nexec sleep 600\n"), log_,
                          fast_policy());
    test::BackgroundRun run([&] { return supervisor.run(stop); });

    ASSERT_TRUE(test::wait_until([&] { return capture_->count({"stage given up"}) == 1; }));
    kill(getpid(), SIGTERM);

    EXPECT_EQ(run.result(), 0);
    EXPECT_EQ(capture_->count({"stage given up stage=loader", "status=7"}), 1);
    EXPECT_EQ(capture_->count({"stage exited stage=broker"}), 0);
    EXPECT_EQ(capture_->count({"stage stopped stage=broker", "signal=15"}), 1);
}

// A host of a several-host deployment that runs only the broker and the logger used to start
// an embedded PostgreSQL nobody would use.
TEST_F(SupervisorTest, AHostWhoseStagesUseNoDatabaseStartsNoCluster) {
    Config config = config_with({{"broker", 1}, {"logger", 1}});
    config.data_dir = dir_ / "var";
    StopSignal stop;
    test::BackgroundRun run(
        [&] { return launch(config, fake_exe("exec sleep 600\n"), nullptr, stop, log_); });

    ASSERT_TRUE(test::wait_until([&] { return starts("broker") == 1 && starts("logger") == 1; }));
    kill(getpid(), SIGTERM);

    EXPECT_EQ(run.result(), 0);
    EXPECT_EQ(capture_->count({"launcher database=none"}), 1);
    EXPECT_FALSE(std::filesystem::exists(config.data_dir / "pg"));
    EXPECT_TRUE(needs_database(config_with({{"http", 1}})));
    EXPECT_FALSE(needs_database(config_with({{"ticker", 1}, {"broker", 1}})));
}

}  // namespace
}  // namespace tdc
