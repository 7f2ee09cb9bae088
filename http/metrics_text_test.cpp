#include "http/metrics_text.hpp"

#include <gtest/gtest.h>

namespace tdc::http {
namespace {

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(MetricsText, HistogramBucketsAreCumulativeAndEndWithInfEqualToCount) {
    nlohmann::json report = {
        {"histograms",
         {{"load_seconds", {{"le", {0.5, 1.0}}, {"counts", {1, 2}}, {"sum", 4.25}, {"count", 3}}},
          {"refresh_seconds", nlohmann::json::object()}}}};

    std::string text = metrics_text(report);

    EXPECT_TRUE(has_line(text, "# TYPE tdc_load_duration_seconds histogram")) << text;
    EXPECT_TRUE(has_line(text, "tdc_load_duration_seconds_bucket{le=\"0.5\"} 1")) << text;
    EXPECT_TRUE(has_line(text, "tdc_load_duration_seconds_bucket{le=\"1.0\"} 2")) << text;
    EXPECT_TRUE(has_line(text, "tdc_load_duration_seconds_bucket{le=\"+Inf\"} 3")) << text;
    EXPECT_TRUE(has_line(text, "tdc_load_duration_seconds_sum 4.25")) << text;
    EXPECT_TRUE(has_line(text, "tdc_load_duration_seconds_count 3")) << text;
}

TEST(MetricsText, PerViewSeriesCarryTheViewAsAnEscapedLabel) {
    nlohmann::json report = {
        {"views",
         {{{"view", "odd\"name\\"},
           {"refresh_failures", 2},
           {"merged_ticks", 5},
           {"events", {{"sent", 7}}}}}},
        {"histograms",
         {{"refresh_seconds",
           {{"odd\"name\\", {{"le", {0.001}}, {"counts", {4}}, {"sum", 0.002}, {"count", 4}}}}}}}};

    std::string text = metrics_text(report);

    EXPECT_TRUE(has_line(text, R"(tdc_refresh_failures_total{view="odd\"name\\"} 2)")) << text;
    EXPECT_TRUE(has_line(text, R"(tdc_refresh_merged_ticks_total{view="odd\"name\\"} 5)"));
    EXPECT_TRUE(has_line(text, R"(tdc_view_events_published_total{view="odd\"name\\"} 7)"));
    EXPECT_TRUE(
        has_line(text, R"(tdc_refresh_duration_seconds_bucket{view="odd\"name\\",le="+Inf"} 4)"));
}

TEST(MetricsText, AnEmptyReportStillNamesEveryFamilyWithZeroCounters) {
    std::string text = metrics_text(nlohmann::json::object());

    EXPECT_TRUE(has_line(text, "tdc_uploads_total{result=\"ok\"} 0")) << text;
    EXPECT_TRUE(has_line(text, "tdc_load_duration_seconds_count 0")) << text;
    EXPECT_TRUE(has_line(text, "# TYPE tdc_refresh_duration_seconds histogram")) << text;
    EXPECT_TRUE(has_line(text, "tdc_last_tick 0")) << text;
}

TEST(MetricsText, EscapesBackslashQuoteAndNewlineInLabels) {
    EXPECT_EQ(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

}  // namespace
}  // namespace tdc::http
