// The broker's bookkeeping for /status and /metrics, without sockets.
#include "broker/broker_status.hpp"

#include <gtest/gtest.h>

namespace tdc {
namespace {

TEST(Histogram, CountsAValueOnItsBoundInThatBucketAndBeyondTheLastOnlyInCount) {
    Histogram h({0.1, 1.0});
    h.observe(0.1);
    h.observe(0.5);
    h.observe(7.0);

    nlohmann::json out = h.to_json();

    EXPECT_EQ(out["counts"], nlohmann::json({1, 2})) << out.dump();
    EXPECT_EQ(out["count"], 3);
    EXPECT_DOUBLE_EQ(out["sum"].get<double>(), 7.6);
    EXPECT_EQ(out["le"], nlohmann::json({0.1, 1.0}));
}

wire::Refreshed refreshed(const std::string& view, double duration_ms, int merged) {
    wire::Refreshed message;
    message.view = view;
    message.table = "reference";
    message.as_of = "2026-01-02T03:04:05.000001Z";
    message.tick = 100;
    message.duration_ms = duration_ms;
    message.rows = 1;
    message.merged_ticks = merged;
    return message;
}

TEST(ViewStatus, ShowsTheLastRefreshCountsFailuresMergedTicksAndEvents) {
    ViewStatus views;
    views.on_refreshed(refreshed("reference_current_second", 2.5, 1));
    wire::RefreshFailed failed;
    failed.view = "reference_current_second";
    failed.tick = 101;
    failed.duration_ms = 3;
    failed.error = "canceling statement due to statement timeout";
    failed.merged_ticks = 2;
    views.on_refresh_failed(failed);
    wire::EventPublished event;
    event.view = "reference_current_second";
    event.seq = 9;
    event.as_of = "2026-01-02T03:04:05.000001Z";
    views.on_event_published(event);

    nlohmann::json view = views.report().at(0);

    EXPECT_EQ(view["view"], "reference_current_second");
    EXPECT_EQ(view["refreshes"], 1);
    EXPECT_EQ(view["refresh_failures"], 1);
    EXPECT_EQ(view["merged_ticks"], 3);
    EXPECT_EQ(view["last_refresh"]["tick"], 101);
    EXPECT_EQ(view["last_refresh"]["error"], failed.error);
    EXPECT_TRUE(view["last_refresh"]["as_of"].is_null());
    EXPECT_EQ(view["last_ok_as_of"], "2026-01-02T03:04:05.000001Z");
    EXPECT_EQ(view["events"]["sent"], 1);
    EXPECT_EQ(view["events"]["last_seq"], 9);
    nlohmann::json h = views.refresh_histograms()["reference_current_second"];
    EXPECT_EQ(h["count"], 1) << "only successful refreshes are timed";
    EXPECT_DOUBLE_EQ(h["sum"].get<double>(), 0.0025);
}

// A view stage older than the duration field sends -1: shown as unknown, never timed.
TEST(ViewStatus, ARefreshWithoutDurationIsCountedButNotTimed) {
    ViewStatus views;
    views.on_refreshed(refreshed("v", -1, 0));

    EXPECT_TRUE(views.report().at(0)["last_refresh"]["duration_ms"].is_null());
    EXPECT_EQ(views.report().at(0)["refreshes"], 1);
    EXPECT_EQ(views.refresh_histograms()["v"]["count"], 0);
}

TEST(ViewStatus, KeepsAtMostMaxViewsDroppingTheLeastRecentlyHeard) {
    ViewStatus views;
    for (std::size_t i = 0; i <= ViewStatus::kMaxViews; ++i) {
        views.on_refreshed(refreshed("v" + std::to_string(i), 1, 0));
    }

    nlohmann::json report = views.report();

    ASSERT_EQ(report.size(), ViewStatus::kMaxViews);
    EXPECT_NE(report.at(0)["view"], "v0");
}

TEST(BrokerStatus, TimesAnUploadFromItsFirstMessageToItsResult) {
    BrokerStatus status;
    status.on_load_message("client", "s1");
    status.on_load_message("client", "s1");  // a later batch does not restart the clock
    wire::LoadResult result;
    result.ok = true;
    result.table = "reference";
    result.rows = 10;
    status.on_load_result("client", "s1", result);
    status.on_load_message("client", "s2");
    status.on_upload_refused("client", "s2", "no loader");

    nlohmann::json report = status.report({});

    EXPECT_EQ(report["histograms"]["load_seconds"]["count"], 1);
    EXPECT_TRUE(report["uploads"][1]["duration_ms"].is_number()) << report["uploads"].dump();
    EXPECT_EQ(report["counters"]["uploads_failed"], 1);
    EXPECT_EQ(report["counters"]["rows_loaded"], 10);
}

TEST(BrokerStatus, AResultOfASessionNeverSeenHasNoDuration) {
    BrokerStatus status;
    wire::LoadResult result;
    result.ok = true;
    status.on_load_result("client", "unknown", result);

    nlohmann::json report = status.report({});

    EXPECT_TRUE(report["uploads"][0]["duration_ms"].is_null());
    EXPECT_EQ(report["histograms"]["load_seconds"]["count"], 0);
}

}  // namespace
}  // namespace tdc
