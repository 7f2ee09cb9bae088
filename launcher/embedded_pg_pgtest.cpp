// Tests that need the PostgreSQL server binaries (/usr/lib/postgresql/<major>/bin): each one
// creates, starts and stops a real embedded cluster in a fresh folder.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "launcher/embedded_pg.hpp"
#include "launcher/launcher.hpp"
#include "launcher/test_support.hpp"

namespace tdc {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::LogCapture;

std::string query_one(const std::string& conninfo, const std::string& sql) {
    pqxx::connection connection(conninfo);
    pqxx::nontransaction tx(connection);
    return tx.exec(sql)[0][0].as<std::string>();
}

bool server_running(const PgLayout& layout) {
    return fs::exists(layout.data / "postmaster.pid");
}

class EmbeddedPostgresPg : public ::testing::Test {
protected:
    void TearDown() override {
        for (const auto& dir : clusters_) {
            EmbeddedPostgres(dir, log_).stop(true);
        }
        for (const auto& dir : cleanup_) {
            fs::remove_all(dir);
        }
    }

    fs::path temp_dir(mode_t mode = 0755) {
        cleanup_.push_back(test::make_temp_dir(mode));
        return cleanup_.back();
    }

    std::vector<fs::path> clusters_;  // stopped whatever happened
    std::vector<fs::path> cleanup_;   // removed after the clusters stopped
    std::shared_ptr<LogCapture> capture_ = std::make_shared<LogCapture>();
    std::shared_ptr<spdlog::logger> log_ = test::capturing_logger(capture_);
};

TEST_F(EmbeddedPostgresPg, StartsConnectsStopsAndReusesTheCluster) {
    EmbeddedPostgres pg(temp_dir() / "pg", log_);

    std::string conninfo = pg.start();
    EXPECT_EQ(query_one(conninfo, "SELECT 1"), "1");
    EXPECT_EQ(query_one(conninfo, "SELECT current_database()"), "tinydevcrm");
    EXPECT_EQ(pg.start(), conninfo);  // already running: same answer
    pg.stop();
    EXPECT_FALSE(server_running(pg.layout()));

    EXPECT_EQ(pg.start(), conninfo);
    EXPECT_EQ(query_one(conninfo, "SELECT 1"), "1");
    pg.stop();

    EXPECT_FALSE(server_running(pg.layout()));
    EXPECT_EQ(capture_->count({"pg initdb"}), 1);
    EXPECT_EQ(capture_->count({"pg database created"}), 1);
}

TEST_F(EmbeddedPostgresPg, MovesTheClusterWhenThePostgresUserCannotEnterTheFolder) {
    if (geteuid() != 0) {
        GTEST_SKIP() << "only root runs the server as another user";
    }
    fs::path requested = temp_dir(0700) / "pg";  // root's private folder: postgres can't enter
    EmbeddedPostgres pg(requested, log_);

    std::string conninfo = pg.start();
    cleanup_.push_back(pg.layout().base);
    EXPECT_EQ(pg.layout().base, fallback_base(requested));
    EXPECT_EQ(query_one(conninfo, "SELECT 1"), "1");
    pg.stop();

    std::ifstream pointer(requested / kPointerFileName);
    std::string location;
    std::getline(pointer, location);
    EXPECT_EQ(location, fallback_base(requested).string());
    EXPECT_EQ(capture_->count({"pg cluster relocated", "location=" + location}), 1);
}

TEST_F(EmbeddedPostgresPg, MovesTheSocketUnderTmpWhenItsPathWouldBeTooLong) {
    EmbeddedPostgres pg(temp_dir() / std::string(90, 'x'), log_);

    std::string conninfo = pg.start();
    cleanup_.push_back(pg.layout().socket_dir);
    EXPECT_EQ(pg.layout().socket_dir.parent_path(), "/tmp");
    EXPECT_NE(conninfo.find("host=" + pg.layout().socket_dir.string()), std::string::npos);
    EXPECT_EQ(query_one(conninfo, "SELECT 1"), "1");
    pg.stop();
}

TEST_F(EmbeddedPostgresPg, PgCommandPrintsOnlyTheConninfoAndLeavesTheClusterRunning) {
    fs::path dir = temp_dir() / "pg";
    clusters_.push_back(dir);

    testing::internal::CaptureStdout();
    int code = pg_command("start", dir, log_);
    std::string out = testing::internal::GetCapturedStdout();

    ASSERT_EQ(code, 0);
    ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
    std::string conninfo = out.substr(0, out.size() - 1);
    EXPECT_EQ(query_one(conninfo, "SELECT 1"), "1");
    EXPECT_EQ(pg_command("stop", dir, log_), 0);
    EXPECT_FALSE(server_running(find_layout(dir, 5432)));
    EXPECT_EQ(pg_command("restart", dir, log_), 2);
}

TEST_F(EmbeddedPostgresPg, LaunchRunsTheStagesAgainstTheEmbeddedCluster) {
    fs::path dir = temp_dir();
    test::write_script(dir / "tinydevcrm",
                       "echo \"$TINYDEVCRM_DATABASE_URL\" > \"$(dirname \"$0\")/$1.url\"\n"
                       "exec sleep 600\n");
    Config config;
    config.file = dir / "tinydevcrm.toml";
    config.data_dir = dir / "var";
    clusters_.push_back(config.data_dir / "pg");
    for (const auto& stage : kStageNames) {
        config.processes[stage] = stage == "broker" || stage == "http" ? 1 : 0;
    }
    StopSignal stop;
    test::BackgroundRun run(
        [&] { return launch(config, dir / "tinydevcrm", nullptr, stop, log_); });

    ASSERT_TRUE(test::wait_until([&] {
        return test::line_count(dir / "broker.url") + test::line_count(dir / "http.url") == 2;
    }));
    std::ifstream url_file(dir / "http.url");
    std::string url;
    std::getline(url_file, url);
    EXPECT_EQ(query_one(url, "SELECT current_database()"), "tinydevcrm");
    kill(getpid(), SIGTERM);

    EXPECT_EQ(run.result(), 0);
    EXPECT_FALSE(server_running(find_layout(config.data_dir / "pg", 5432)));
    EXPECT_LT(capture_->index_of("stage stopped stage=broker"), capture_->index_of("pg stopped"));
    unsetenv("TINYDEVCRM_DATABASE_URL");
}

}  // namespace
}  // namespace tdc
