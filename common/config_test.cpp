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

}  // namespace
}  // namespace tdc
