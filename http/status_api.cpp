// GET /status (JSON) and GET /metrics (Prometheus text format 0.0.4).
//
// Both ask the broker, which sees every heartbeat, tick, upload, refresh and event and holds
// the launchers' reports of pids and restarts (broker/broker_status.hpp). One request, one
// short-lived DEALER: handlers run on several Pistache threads and sockets are not shared.
#include <unistd.h>

#include "common/bus.hpp"
#include "common/wire.hpp"
#include "http/api.hpp"
#include "http/metrics_text.hpp"

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
    bus.send(wire::kBrokerService, session, zmq::message_t(request.data(), request.size()));
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
    report->erase("histograms");  // /metrics' business; /status has each upload's and view's
    char host[64] = {0};
    gethostname(host, sizeof host - 1);
    (*report)["http"] = {{"host", host}, {"pid", getpid()}};
    return {200, std::move(*report)};
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
