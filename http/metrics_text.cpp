#include "http/metrics_text.hpp"

#include <sstream>
#include <utility>
#include <vector>

namespace tdc::http {

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Writes families one after the other; the format wants each family's samples together.
class Exposition {
public:
    void family(const std::string& name, const std::string& type, const std::string& help) {
        out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
    }

    // `value` is a JSON number: integers stay integers, floats keep every digit.
    void sample(const std::string& name, const Labels& labels, const nlohmann::json& value) {
        out_ << name;
        if (!labels.empty()) {
            const char* separator = "{";
            for (const auto& [key, text] : labels) {
                out_ << separator << key << "=\"" << escape_label(text) << '"';
                separator = ",";
            }
            out_ << '}';
        }
        out_ << ' ' << (value.is_number() ? value.dump() : "0") << '\n';
    }

    // The samples of one histogram from Histogram::to_json(): a cumulative `_bucket` per
    // bound, `+Inf` equal to `_count`, then `_sum` and `_count`.
    void histogram(const std::string& name, const Labels& labels, const nlohmann::json& h) {
        const auto& bounds = h.value("le", nlohmann::json::array());
        const auto& counts = h.value("counts", nlohmann::json::array());
        for (std::size_t i = 0; i < bounds.size() && i < counts.size(); ++i) {
            sample(name + "_bucket", with(labels, "le", bounds[i].dump()), counts[i]);
        }
        sample(name + "_bucket", with(labels, "le", "+Inf"), h.value("count", 0));
        sample(name + "_sum", labels, h.value("sum", 0.0));
        sample(name + "_count", labels, h.value("count", 0));
    }

    std::string text() const { return out_.str(); }

private:
    static Labels with(Labels labels, const std::string& key, const std::string& value) {
        labels.emplace_back(key, value);
        return labels;
    }

    std::ostringstream out_;
};

Labels stage_labels(const nlohmann::json& stage) {
    return {{"stage", stage.value("stage", "")},
            {"host", stage.value("host", "")},
            {"instance", std::to_string(stage.value("instance", 0))}};
}

void counters(Exposition& out, const nlohmann::json& c) {
    out.family("tdc_uploads_total", "counter", "Uploads the loader answered, by result.");
    out.sample("tdc_uploads_total", {{"result", "ok"}}, c.value("uploads_ok", 0));
    out.sample("tdc_uploads_total", {{"result", "failed"}}, c.value("uploads_failed", 0));
    out.family("tdc_rows_loaded_total", "counter", "Rows committed by uploads.");
    out.sample("tdc_rows_loaded_total", {}, c.value("rows_loaded", 0));
    out.family("tdc_events_published_total", "counter", "Events forwarded to subscribers.");
    out.sample("tdc_events_published_total", {}, c.value("events_published", 0));
    out.family("tdc_event_subscriptions", "gauge", "Open subscriptions on events_out.");
    out.sample("tdc_event_subscriptions", {}, c.value("subscriptions", 0));
    out.family("tdc_workers_dropped_total", "counter", "Workers the broker took for dead.");
    out.sample("tdc_workers_dropped_total", {}, c.value("workers_dropped", 0));
}

void stages(Exposition& out, const nlohmann::json& list) {
    out.family("tdc_stage_up", "gauge", "1 when the stage process runs.");
    for (const auto& s : list) {
        out.sample("tdc_stage_up", stage_labels(s), s.value("up", false) ? 1 : 0);
    }
    out.family("tdc_stage_restarts_total", "counter", "Restarts by the launcher.");
    for (const auto& s : list) {
        if (s.contains("restarts")) {
            out.sample("tdc_stage_restarts_total", stage_labels(s), s.value("restarts", 0));
        }
    }
}

// One counter family with a sample per view, read from the view's `key` in the report.
void per_view(Exposition& out, const nlohmann::json& views, const std::string& name,
              const std::string& help, const nlohmann::json::json_pointer& key) {
    out.family(name, "counter", help);
    for (const auto& view : views) {
        out.sample(name, {{"view", view.value("view", "")}}, view.value(key, 0));
    }
}

void views(Exposition& out, const nlohmann::json& report) {
    const auto& list = report.value("views", nlohmann::json::array());
    per_view(out, list, "tdc_refresh_failures_total", "Failed refreshes, per view.",
             "/refresh_failures"_json_pointer);
    per_view(out, list, "tdc_refresh_merged_ticks_total",
             "Ticks merged into a refresh still running, per view.", "/merged_ticks"_json_pointer);
    per_view(out, list, "tdc_view_events_published_total",
             "Events the checker published, per view.", "/events/sent"_json_pointer);

    out.family("tdc_refresh_duration_seconds", "histogram",
               "Seconds of each successful refresh transaction, per view.");
    nlohmann::json by_view =
        report.value("/histograms/refresh_seconds"_json_pointer, nlohmann::json::object());
    for (const auto& [view, h] : by_view.items()) {
        out.histogram("tdc_refresh_duration_seconds", {{"view", view}}, h);
    }
}

void loads(Exposition& out, const nlohmann::json& report) {
    out.family("tdc_load_duration_seconds", "histogram",
               "Seconds from an upload's first message to the loader's commit, per upload.");
    out.histogram("tdc_load_duration_seconds", {},
                  report.value("/histograms/load_seconds"_json_pointer, nlohmann::json::object()));
}

}  // namespace

std::string escape_label(const std::string& value) {
    std::string out;
    for (char c : value) {
        out += c == '\n'                 ? std::string("\\n")
               : (c == '\\' || c == '"') ? std::string("\\") + c
                                         : std::string(1, c);
    }
    return out;
}

std::string metrics_text(const nlohmann::json& report) {
    Exposition out;
    counters(out, report.value("counters", nlohmann::json::object()));
    stages(out, report.value("stages", nlohmann::json::array()));
    loads(out, report);
    views(out, report);
    out.family("tdc_last_tick", "gauge", "The last tick (Unix second) sent to the view stage.");
    const auto& tick = report.value("last_tick", nlohmann::json());
    out.sample("tdc_last_tick", {}, tick.is_object() ? tick.value("tick", 0LL) : 0LL);
    out.family("tdc_broker_uptime_seconds", "gauge", "Seconds since the broker started.");
    const auto& broker = report.value("broker", nlohmann::json::object());
    out.sample("tdc_broker_uptime_seconds", {}, broker.value("uptime_ms", 0LL) / 1000.0);
    return out.text();
}

}  // namespace tdc::http
