#include "broker/histogram.hpp"

#include <algorithm>

namespace tdc {

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), in_bucket_(bounds.size(), 0) {}

void Histogram::observe(double value) {
    auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value);
    if (bucket != bounds_.end()) {
        ++in_bucket_[bucket - bounds_.begin()];
    }
    ++count_;
    sum_ += value;
}

nlohmann::json Histogram::to_json() const {
    nlohmann::json cumulative = nlohmann::json::array();
    std::uint64_t running = 0;
    for (std::uint64_t n : in_bucket_) {
        running += n;
        cumulative.push_back(running);
    }
    return {{"le", bounds_}, {"counts", std::move(cumulative)}, {"sum", sum_}, {"count", count_}};
}

}  // namespace tdc
