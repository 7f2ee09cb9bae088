// What the broker knows about each view, for `GET /status` and `GET /metrics`: the last
// refresh, how many refreshes succeeded and failed, the ticks merged into running refreshes,
// the events published and a histogram of refresh durations. Fed by the view stage's
// `refreshed` (read on its way to the checker) and `refresh_failed`, and by the checker's
// `event_published` (common/wire.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "broker/histogram.hpp"
#include "common/wire.hpp"

namespace tdc {

class ViewStatus {
public:
    using Clock = std::chrono::steady_clock;

    // Views kept at most; a new view beyond it pushes out the one heard from least recently.
    static constexpr std::size_t kMaxViews = 1000;
    // A view nothing was heard of for this long (dropped, or no ticker) is left out of the
    // report and forgotten when the next new view arrives.
    static constexpr std::chrono::minutes kSilence{10};

    void on_refreshed(const wire::Refreshed& refreshed);
    void on_refresh_failed(const wire::RefreshFailed& failed);
    void on_event_published(const wire::EventPublished& event);

    // Per view, by name: `view`, `table`, `last_refresh` {tick, as_of, duration_ms, rows,
    // error, merged_ticks, ms_ago}, `last_ok_as_of`, `refreshes`, `refresh_failures`,
    // `merged_ticks` and `events` {sent, last_seq, last_as_of, ms_ago}. Unknown values are null.
    nlohmann::json report() const;

    // {view name: Histogram::to_json() of its successful refreshes' seconds}.
    nlohmann::json refresh_histograms() const;

private:
    struct View {
        std::string table;
        std::uint64_t refreshes = 0;  // successful ones
        std::uint64_t failures = 0;
        std::uint64_t merged_ticks = 0;
        nlohmann::json last_refresh;  // null until the first
        Clock::time_point last_refresh_at{};
        std::string last_ok_as_of;
        std::uint64_t events = 0;
        std::uint64_t last_seq = 0;
        std::string last_event_as_of;
        Clock::time_point last_event_at{};
        Clock::time_point heard{};
        Histogram refresh_seconds{kRefreshSecondsBounds};
    };

    // The entry of `name`, made when missing (forgetting silent views, then the least recently
    // heard one if kMaxViews are kept). Marks it heard now.
    View& view(const std::string& name);
    bool silent(const View& view, Clock::time_point now) const;
    static nlohmann::json describe(const std::string& name, const View& entry);

    std::map<std::string, View> views_;
};

}  // namespace tdc
