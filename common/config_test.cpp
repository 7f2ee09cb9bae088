#include "common/config.hpp"

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

namespace tdc {
namespace {

class ConfigTest : public ::testing::Test {
protected:
    void SetUp() override {
        unsetenv("TINYDEVCRM_DATABASE_URL");
        dir_ = std::filesystem::temp_directory_path() /
               ("tdc-config-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_ / "config");
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::filesystem::path write(const std::string& text) {
        auto file = dir_ / "config" / "tinydevcrm.toml";
        std::ofstream(file) << text;
        return file;
    }

    // The ConfigError message `text` produces, or "" when it loads.
    std::string error_of(const std::string& text) {
        try {
            load_config(write(text));
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "";
    }

    std::filesystem::path dir_;
};

TEST_F(ConfigTest, EmptyFileGivesTheDefaults) {
    Config config = load_config(write(""));
    EXPECT_FALSE(config.database_url.has_value());
    EXPECT_EQ(config.endpoints.events_in, "tcp://127.0.0.1:5559");
    EXPECT_EQ(config.endpoints.events_out, "tcp://127.0.0.1:5560");
    EXPECT_EQ(config.http.host, "127.0.0.1");
    EXPECT_EQ(config.http.port, 8080);
    EXPECT_GE(config.http.max_upload_bytes, 256u << 20);
    EXPECT_EQ(config.tick_interval_ms, 1000);
    EXPECT_EQ(config.processes.at("loader"), 1);
    EXPECT_EQ(config.data_dir, dir_ / "var");
    EXPECT_EQ(config.http.web_root, dir_ / "web");
    EXPECT_EQ(config.views.refresh_history, 100);
    EXPECT_EQ(config.views.refresh_timeout_ms, 60000);
    EXPECT_EQ(config.views.create_timeout_ms, 10000);
    EXPECT_EQ(config.events.log_per_view, 1000);
    EXPECT_EQ(config.events.max_rows, 10000u);
    EXPECT_EQ(config.events.max_bytes, 4u << 20);
}

TEST_F(ConfigTest, ReadsEveryKey) {
    Config config = load_config(write(R"(
[database]
url = "host=/tmp dbname=x"
[endpoints]
bus = "tcp://10.0.0.1:6000"
[http]
port = 9000
max_upload_bytes = 1048576
[ticker]
interval_ms = 500
[processes]
loader = 3
logger = 0
)"));
    EXPECT_EQ(config.database_url.value(), "host=/tmp dbname=x");
    EXPECT_EQ(config.endpoints.bus, "tcp://10.0.0.1:6000");
    EXPECT_EQ(config.http.port, 9000);
    EXPECT_EQ(config.http.max_upload_bytes, 1048576u);
    EXPECT_EQ(config.tick_interval_ms, 500);
    EXPECT_EQ(config.processes.at("loader"), 3);
    EXPECT_EQ(config.processes.at("logger"), 0);
}

TEST_F(ConfigTest, EnvironmentOverridesTheDatabase) {
    setenv("TINYDEVCRM_DATABASE_URL", "host=/elsewhere", 1);
    Config config = load_config(write("[database]\nurl = \"host=/tmp\"\n"));
    unsetenv("TINYDEVCRM_DATABASE_URL");
    EXPECT_EQ(config.database_url.value(), "host=/elsewhere");
}

TEST_F(ConfigTest, MissingFileNamesThePath) {
    try {
        load_config(dir_ / "nope.toml");
        FAIL() << "a missing file loaded";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("nope.toml: no such file"), std::string::npos);
    }
}

TEST_F(ConfigTest, UnknownStageIsNamed) {
    EXPECT_NE(error_of("[processes]\nloadr = 2\n").find("processes.loadr: unknown stage"),
              std::string::npos);
}

TEST_F(ConfigTest, BadEndpointIsNamed) {
    std::string error = error_of("[endpoints]\nevents_in = \"127.0.0.1:5559\"\n");
    EXPECT_NE(error.find("endpoints.events_in: bad endpoint '127.0.0.1:5559'"), std::string::npos)
        << error;
    EXPECT_NE(error_of("[endpoints]\nbus = \"tcp://host:99999\"\n").find("bad endpoint"),
              std::string::npos);
}

TEST_F(ConfigTest, SyntaxErrorNamesTheLine) {
    std::string error = error_of("[http]\nport = \n");
    EXPECT_NE(error.find("tinydevcrm.toml:2"), std::string::npos) << error;
}

TEST_F(ConfigTest, WrongTypeAndRangeAreNamed) {
    EXPECT_NE(error_of("[http]\nport = \"eighty\"\n").find("http.port: wrong type"),
              std::string::npos);
    EXPECT_NE(error_of("[http]\nport = 70000\n").find("http.port: must be between"),
              std::string::npos);
    EXPECT_NE(error_of("[processes]\nticker = 2\n").find("processes.ticker: at most 1"),
              std::string::npos);
    EXPECT_NE(error_of("[nonsense]\n").find("nonsense: unknown section"), std::string::npos);
}

TEST_F(ConfigTest, ReadsTheViewAndEventBounds) {
    Config config = load_config(write(R"(
[views]
refresh_history = 5
refresh_timeout_ms = 1500
create_timeout_ms = 2500
[events]
log_per_view = 7
max_rows = 3
max_bytes = 2048
)"));
    EXPECT_EQ(config.views.refresh_history, 5);
    EXPECT_EQ(config.views.refresh_timeout_ms, 1500);
    EXPECT_EQ(config.views.create_timeout_ms, 2500);
    EXPECT_EQ(config.events.log_per_view, 7);
    EXPECT_EQ(config.events.max_rows, 3u);
    EXPECT_EQ(config.events.max_bytes, 2048u);
}

TEST_F(ConfigTest, BadViewAndEventBoundsAreNamed) {
    struct Case {
        const char* text;
        const char* error;
    };
    for (const Case& c : std::vector<Case>{
             {"[views]\nrefresh_history = 0\n", "views.refresh_history: must be between 1 and"},
             {"[views]\nrefresh_timeout_ms = 0\n", "views.refresh_timeout_ms: must be between"},
             {"[views]\ncreate_timeout_ms = \"10s\"\n", "views.create_timeout_ms: wrong type"},
             {"[events]\nlog_per_view = -1\n", "events.log_per_view: must be between 1 and"},
             {"[events]\nmax_rows = 0\n", "events.max_rows: must be between 1 and"},
             {"[events]\nmax_bytes = 100\n", "events.max_bytes: must be between 1024 and"},
             {"[events]\nmax_bytes = 1073741824\n", "events.max_bytes: must be between"},
             {"[events]\nmax_row = 5\n", "events.max_row: unknown key (known: log_per_view"},
             {"[views]\nhistory = 5\n", "views.history: unknown key"},
             {"events = 3\n", "[events] must be a table"},
         }) {
        std::string error = error_of(c.text);
        EXPECT_NE(error.find(c.error), std::string::npos) << c.text << " gave: " << error;
    }
}

// The shipped file documents every key with its default: it loads and changes nothing.
TEST_F(ConfigTest, TheShippedFileLoadsWithTheDefaults) {
    Config shipped = load_config(std::filesystem::path(TDC_SOURCE_DIR) / "config/tinydevcrm.toml");
    Config defaults = load_config(write(""));
    EXPECT_EQ(shipped.views.refresh_history, defaults.views.refresh_history);
    EXPECT_EQ(shipped.views.refresh_timeout_ms, defaults.views.refresh_timeout_ms);
    EXPECT_EQ(shipped.views.create_timeout_ms, defaults.views.create_timeout_ms);
    EXPECT_EQ(shipped.events.log_per_view, defaults.events.log_per_view);
    EXPECT_EQ(shipped.events.max_rows, defaults.events.max_rows);
    EXPECT_EQ(shipped.events.max_bytes, defaults.events.max_bytes);
}

TEST_F(ConfigTest, LaunchModeIsProcessesByDefaultAndThreadsOnRequest) {
    EXPECT_EQ(load_config(write("")).launch_mode, LaunchMode::kProcesses);
    EXPECT_EQ(load_config(write("[launch]\nmode = \"processes\"\n")).launch_mode,
              LaunchMode::kProcesses);
    Config threads = load_config(write("[launch]\nmode = \"threads\"\n[processes]\nloader = 2\n"));
    EXPECT_EQ(threads.launch_mode, LaunchMode::kThreads);
    EXPECT_EQ(threads.processes.at("loader"), 2);  // in threads mode, threads per stage
}

TEST_F(ConfigTest, BadLaunchModeIsNamed) {
    std::string error = error_of("[launch]\nmode = \"thread\"\n");
    EXPECT_NE(error.find("launch.mode: must be \"processes\" or \"threads\", got \"thread\""),
              std::string::npos)
        << error;
    EXPECT_NE(error_of("[launch]\nmode = 1\n").find("launch.mode: wrong type"), std::string::npos);
    EXPECT_NE(error_of("[launch]\nmod = \"threads\"\n").find("launch.mod: unknown key"),
              std::string::npos);
    EXPECT_NE(error_of("launch = \"threads\"\n").find("[launch] must be a table"),
              std::string::npos);
}

TEST_F(ConfigTest, WriteTokenIsOffByDefaultAndChecked) {
    EXPECT_EQ(load_config(write("")).http.write_token, "");
    EXPECT_EQ(load_config(write("[http]\nwrite_token = \"0123456789abcdef\"\n")).http.write_token,
              "0123456789abcdef");
    std::string error = error_of("[http]\nwrite_token = \"short secret\"\n");
    EXPECT_NE(error.find("http.write_token: must be 16 to 256"), std::string::npos);
    EXPECT_EQ(error.find("short secret"), std::string::npos) << "the token leaked: " << error;
}

TEST_F(ConfigTest, CurveIsOffByDefaultAndEventQueueHasItsDefault) {
    Config config = load_config(write(""));
    EXPECT_FALSE(config.security.curve);
    EXPECT_EQ(config.events.queue_length, 100);
}

TEST_F(ConfigTest, ReadsSecurityPathsFromTheConfigFolder) {
    Config config = load_config(write(R"(
[security]
curve = true
broker_public_key = "keys/broker.public"
secret_key = "/etc/tdc/host.secret"
broker_secret_key = "keys/broker.secret"
stage_keys = "keys/stages"
[events]
queue_length = 8
)"));
    EXPECT_TRUE(config.security.curve);
    EXPECT_EQ(config.security.broker_public_key, dir_ / "config" / "keys" / "broker.public");
    EXPECT_EQ(config.security.secret_key, "/etc/tdc/host.secret");
    EXPECT_EQ(config.security.stage_keys, dir_ / "config" / "keys" / "stages");
    EXPECT_TRUE(config.security.subscriber_keys.empty());
    EXPECT_EQ(config.events.queue_length, 8);
}

TEST_F(ConfigTest, CurveNeedsTheBrokerKeyAndOwnSecretKey) {
    EXPECT_NE(error_of("[security]\ncurve = true\nsecret_key = \"a.secret\"\n")
                  .find("security.broker_public_key: required when security.curve is on"),
              std::string::npos);
    EXPECT_NE(error_of("[security]\ncurve = true\nbroker_public_key = \"b.public\"\n")
                  .find("security.secret_key: required"),
              std::string::npos);
    EXPECT_EQ(error_of("[security]\ncurve = false\n"), "");
}

// A misspelt key would leave CURVE off without a word, so it is an error.
TEST_F(ConfigTest, UnknownSecurityOrEventsKeyIsAnError) {
    std::string error = error_of("[security]\ncurv = true\n");
    EXPECT_NE(error.find("security.curv: unknown key"), std::string::npos) << error;
    EXPECT_NE(error_of("[security]\ncurve = \"yes\"\n").find("security.curve: wrong type"),
              std::string::npos);
    EXPECT_NE(error_of("[events]\nqueue = 5\n").find("events.queue: unknown key"),
              std::string::npos);
    EXPECT_NE(error_of("[events]\nqueue_length = 0\n").find("events.queue_length: must be between"),
              std::string::npos);
}

}  // namespace
}  // namespace tdc
