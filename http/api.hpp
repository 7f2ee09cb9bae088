// What every route module of the HTTP front shares: the context handlers run with, JSON
// replies, and query parameters. Each module adds its routes in its own file (see server.cpp
// for the list) so that the front stays one short constructor.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <pistache/http.h>
#include <pistache/router.h>
#include <spdlog/logger.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "common/config.hpp"

namespace tdc::http {

struct ApiContext {
    const Config& config;
    zmq::context_t& zmq;
    std::shared_ptr<spdlog::logger> log;
};

// An HTTP answer: status and JSON body.
struct Reply {
    int status = 200;
    nlohmann::json body;
};

// Reply with `{error, detail}`.
Reply error_reply(int status, const std::string& error, const std::string& detail);

// Sends `reply` as application/json; the promise is kept when it is written.
Pistache::Async::Promise<ssize_t> send_json(Pistache::Http::ResponseWriter& response,
                                            const Reply& reply);

// Runs `handler` and sends what it returns. A std::invalid_argument becomes a 400 naming the
// problem; any other exception a 500, logged at error.
void answer(Pistache::Http::ResponseWriter& response, spdlog::logger& log,
            const std::function<Reply()>& handler);

// The query parameter `key`, percent-decoded, or nullopt when absent. Pistache 0.0.5 hands
// query values over still encoded.
std::optional<std::string> query_param(const Pistache::Http::Request& request,
                                       const std::string& key);

// True when no write token is configured (`token` empty), or the request carries it as
// `Authorization: Bearer <token>`. The comparison takes the same time wherever the first
// difference is.
bool authorized(const Pistache::Http::Request& request, const std::string& token);

// Route modules, one file each.
void add_table_routes(Pistache::Rest::Router& router, ApiContext& api);   // tables_api.cpp
void add_view_routes(Pistache::Rest::Router& router, ApiContext& api);    // views_api.cpp
void add_event_routes(Pistache::Rest::Router& router, ApiContext& api);   // events_api.cpp
void add_status_routes(Pistache::Rest::Router& router, ApiContext& api);  // status_api.cpp

}  // namespace tdc::http
