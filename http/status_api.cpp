// GET /status (JSON) and GET /metrics (Prometheus text format 0.0.4).
//
// Both ask the broker, which sees every heartbeat, tick, upload result and event and holds
// the launchers' reports of pids and restarts (broker/broker_status.hpp). One request, one
// short-lived DEALER: handlers run on several Pistache threads and sockets are not shared.
#include <unistd.h>

#include <sstream>

#include "common/bus.hpp"
#include "common/wire.hpp"
#include "http/api.hpp"

namespace tdc::http {

namespace {

// How long /status and /metrics wait for the broker before answering 503.
constexpr auto kBrokerTimeout = std::chrono::milliseconds(2000);

// The broker's status report, or nullopt when it did not answer in time.
std::optional<nlohmann::json> ask_broker(ApiContext& api) {
    BusClient bus(api.zmq, api.config.endpoints.bus);
    std::string session = new_session_id();
    std::vector<std::uint8_t> request =
        nlohmann::json::to_msgpack({{"kind", "status_request"}, {"v", wire::kVersion}});
    bus.send("broker", session, zmq::message_t(request.data(), request.size()));
    auto deadline = std::chrono::steady_clock::now() + kBrokerTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        auto reply = bus.receive(left);
        if (reply && reply->route.session == session) {
            const auto* data = static_cast<const std::uint8_t*>(reply->body.data());
            return nlohmann::json::from_msgpack(data, data + reply->body.size());
        }
    }
    return std::nullopt;
}

Reply broker_silent(ApiContext& api) {
    return error_reply(503, "broker_unavailable",
                       "the broker at " + api.config.endpoints.bus + " did not answer within " +
                           std::to_string(kBrokerTimeout.count()) + " ms");
}

Reply status(ApiContext& api) {
    auto report = ask_broker(api);
    if (!report) {
        return broker_silent(api);
    }
    report->erase("kind");
    report->erase("v");
    char host[64] = {0};
    gethostname(host, sizeof host - 1);
    (*report)["http"] = {{"host", host}, {"pid", getpid()}};
    return {200, std::move(*report)};
}

// Prometheus label value: backslash, quote and newline escaped.
std::string label(const std::string& value) {
    std::string out;
    for (char c : value) {
        out += c == '\n'                 ? std::string("\\n")
               : (c == '\\' || c == '"') ? std::string("\\") + c
                                         : std::string(1, c);
    }
    return out;
}

void metric(std::ostringstream& out, const std::string& name, const std::string& type,
            const std::string& help) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

void counters(std::ostringstream& out, const nlohmann::json& c) {
    metric(out, "tdc_uploads_total", "counter", "Uploads the loader answered, by result.");
    out << "tdc_uploads_total{result=\"ok\"} " << c.value("uploads_ok", 0) << "\n";
    out << "tdc_uploads_total{result=\"failed\"} " << c.value("uploads_failed", 0) << "\n";
    metric(out, "tdc_rows_loaded_total", "counter", "Rows committed by uploads.");
    out << "tdc_rows_loaded_total " << c.value("rows_loaded", 0) << "\n";
    metric(out, "tdc_events_published_total", "counter", "Events forwarded to subscribers.");
    out << "tdc_events_published_total " << c.value("events_published", 0) << "\n";
    metric(out, "tdc_event_subscriptions", "gauge", "Open subscriptions on events_out.");
    out << "tdc_event_subscriptions " << c.value("subscriptions", 0) << "\n";
    metric(out, "tdc_workers_dropped_total", "counter", "Workers the broker took for dead.");
    out << "tdc_workers_dropped_total " << c.value("workers_dropped", 0) << "\n";
}

void stages(std::ostringstream& out, const nlohmann::json& list) {
    metric(out, "tdc_stage_up", "gauge", "1 when the stage process runs.");
    for (const auto& s : list) {
        out << "tdc_stage_up{stage=\"" << label(s.value("stage", "")) << "\",host=\""
            << label(s.value("host", "")) << "\",instance=\"" << s.value("instance", 0) << "\"} "
            << (s.value("up", false) ? 1 : 0) << "\n";
    }
    metric(out, "tdc_stage_restarts_total", "counter", "Restarts by the launcher.");
    for (const auto& s : list) {
        if (s.contains("restarts")) {
            out << "tdc_stage_restarts_total{stage=\"" << label(s.value("stage", ""))
                << "\",host=\"" << label(s.value("host", "")) << "\",instance=\""
                << s.value("instance", 0) << "\"} " << s.value("restarts", 0) << "\n";
        }
    }
}

std::string metrics_text(const nlohmann::json& report) {
    std::ostringstream out;
    counters(out, report.value("counters", nlohmann::json::object()));
    stages(out, report.value("stages", nlohmann::json::array()));
    metric(out, "tdc_last_tick", "gauge", "The last tick (Unix second) sent to the view stage.");
    const auto& tick = report["last_tick"];
    out << "tdc_last_tick " << (tick.is_object() ? tick.value("tick", 0LL) : 0LL) << "\n";
    metric(out, "tdc_broker_uptime_seconds", "gauge", "Seconds since the broker started.");
    out << "tdc_broker_uptime_seconds " << report["broker"].value("uptime_ms", 0LL) / 1000.0
        << "\n";
    return out.str();
}

void send_metrics(ApiContext& api, Pistache::Http::ResponseWriter& response) {
    auto report = ask_broker(api);
    if (!report) {
        send_json(response, broker_silent(api));
        return;
    }
    response.headers().add<Pistache::Http::Header::ContentType>(
        Pistache::Http::Mime::MediaType::fromString("text/plain; version=0.0.4"));
    response.send(Pistache::Http::Code::Ok, metrics_text(*report));
}

}  // namespace

void add_status_routes(Pistache::Rest::Router& router, ApiContext& api) {
    using Pistache::Http::ResponseWriter;
    using Pistache::Rest::Request;
    Pistache::Rest::Routes::Get(router, "/status", [&api](const Request&, ResponseWriter response) {
        answer(response, *api.log, [&] { return status(api); });
        return Pistache::Rest::Route::Result::Ok;
    });
    Pistache::Rest::Routes::Get(router, "/metrics",
                                [&api](const Request&, ResponseWriter response) {
                                    send_metrics(api, response);
                                    return Pistache::Rest::Route::Result::Ok;
                                });
}

}  // namespace tdc::http
