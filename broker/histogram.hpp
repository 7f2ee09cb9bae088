// A histogram in Prometheus' sense: how many observations fell at or below each of a fixed
// list of upper bounds, plus their count and sum. The broker keeps the load and refresh
// durations in these; the HTTP front writes them out as `_bucket`, `_sum` and `_count`.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace tdc {

class Histogram {
public:
    // REQUIRES: `bounds` is not empty and strictly ascending.
    explicit Histogram(const std::vector<double>& bounds);

    // Counts `value` in the first bucket whose bound is >= it; beyond the last bound it is
    // counted only in the implicit +Inf bucket (that is, in count()).
    void observe(double value);

    std::uint64_t count() const { return count_; }
    double sum() const { return sum_; }

    // {"le": [bounds...], "counts": [observations <= each bound...], "sum": s, "count": n}.
    // The counts are cumulative, as Prometheus wants them; +Inf is `count`.
    nlohmann::json to_json() const;

private:
    std::vector<double> bounds_;
    std::vector<std::uint64_t> in_bucket_;  // per bound, not cumulative
    std::uint64_t count_ = 0;
    double sum_ = 0;
};

// Upload durations, from the loader session's first message to its result: a few rows take
// milliseconds, a million rows over a slow link minutes.
inline const std::vector<double> kLoadSecondsBounds = {0.01, 0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                                       5,    10,   30,  60,   120, 300, 600};

// Refresh durations: the reference view refreshes in about a millisecond; a refresh longer
// than the tick interval (1 s by default) merges ticks, and 60 s is the statement timeout.
inline const std::vector<double> kRefreshSecondsBounds = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

}  // namespace tdc
