#include "broker/view_status.hpp"

#include <algorithm>

namespace tdc {

namespace {

long long ms_since(ViewStatus::Clock::time_point then) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(ViewStatus::Clock::now() - then)
        .count();
}

// A value the sender marks unknown with -1 (or an empty string) becomes JSON null.
template <class Number>
nlohmann::json known(Number value) {
    return value < 0 ? nlohmann::json(nullptr) : nlohmann::json(value);
}

nlohmann::json known(const std::string& text) {
    return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
}

}  // namespace

void ViewStatus::on_refreshed(const wire::Refreshed& refreshed) {
    View& entry = view(refreshed.view);
    entry.table = refreshed.table;
    ++entry.refreshes;
    entry.merged_ticks += std::max(0, refreshed.merged_ticks);
    entry.last_ok_as_of = refreshed.as_of;
    entry.last_refresh = {{"tick", refreshed.tick},
                          {"as_of", known(refreshed.as_of)},
                          {"duration_ms", known(refreshed.duration_ms)},
                          {"rows", known(refreshed.rows)},
                          {"error", nullptr},
                          {"merged_ticks", refreshed.merged_ticks}};
    entry.last_refresh_at = Clock::now();
    if (refreshed.duration_ms >= 0) {
        entry.refresh_seconds.observe(refreshed.duration_ms / 1000.0);
    }
}

void ViewStatus::on_refresh_failed(const wire::RefreshFailed& failed) {
    View& entry = view(failed.view);
    entry.table = failed.table;
    ++entry.failures;
    entry.merged_ticks += std::max(0, failed.merged_ticks);
    entry.last_refresh = {
        {"tick", failed.tick}, {"as_of", nullptr},      {"duration_ms", known(failed.duration_ms)},
        {"rows", nullptr},     {"error", failed.error}, {"merged_ticks", failed.merged_ticks}};
    entry.last_refresh_at = Clock::now();
}

void ViewStatus::on_event_published(const wire::EventPublished& event) {
    View& entry = view(event.view);
    ++entry.events;
    entry.last_seq = event.seq;
    entry.last_event_as_of = event.as_of;
    entry.last_event_at = Clock::now();
}

ViewStatus::View& ViewStatus::view(const std::string& name) {
    auto now = Clock::now();
    auto found = views_.find(name);
    if (found != views_.end()) {
        found->second.heard = now;
        return found->second;
    }
    for (auto it = views_.begin(); it != views_.end();) {
        it = silent(it->second, now) ? views_.erase(it) : std::next(it);
    }
    if (views_.size() >= kMaxViews) {
        views_.erase(std::min_element(views_.begin(), views_.end(), [](auto& a, auto& b) {
            return a.second.heard < b.second.heard;
        }));
    }
    View& entry = views_[name];
    entry.heard = now;
    return entry;
}

bool ViewStatus::silent(const View& view, Clock::time_point now) const {
    return now - view.heard > kSilence;
}

nlohmann::json ViewStatus::report() const {
    nlohmann::json out = nlohmann::json::array();
    auto now = Clock::now();
    for (const auto& [name, entry] : views_) {
        if (!silent(entry, now)) {
            out.push_back(describe(name, entry));
        }
    }
    return out;
}

nlohmann::json ViewStatus::describe(const std::string& name, const View& entry) {
    nlohmann::json last = entry.last_refresh;
    if (last.is_object()) {
        last["ms_ago"] = ms_since(entry.last_refresh_at);
    }
    nlohmann::json events = {{"sent", entry.events},
                             {"last_seq", nullptr},
                             {"last_as_of", nullptr},
                             {"ms_ago", nullptr}};
    if (entry.events > 0) {
        events["last_seq"] = entry.last_seq;
        events["last_as_of"] = entry.last_event_as_of;
        events["ms_ago"] = ms_since(entry.last_event_at);
    }
    return {{"view", name},
            {"table", known(entry.table)},
            {"last_refresh", std::move(last)},
            {"last_ok_as_of", known(entry.last_ok_as_of)},
            {"refreshes", entry.refreshes},
            {"refresh_failures", entry.failures},
            {"merged_ticks", entry.merged_ticks},
            {"events", std::move(events)}};
}

nlohmann::json ViewStatus::refresh_histograms() const {
    nlohmann::json out = nlohmann::json::object();
    auto now = Clock::now();
    for (const auto& [name, entry] : views_) {
        if (!silent(entry, now)) {
            out[name] = entry.refresh_seconds.to_json();
        }
    }
    return out;
}

}  // namespace tdc
