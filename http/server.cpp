#include "http/server.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include "http/front_handler.hpp"

namespace tdc::http {

namespace {

using Pistache::Http::Code;
using Pistache::Http::ResponseWriter;
using Pistache::Rest::Request;

// Pistache's own guess knows neither .js nor .css; browsers want both typed.
Pistache::Http::Mime::MediaType media_type_of(const std::filesystem::path& path) {
    static const std::map<std::string, std::string> kTypes = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".json", "application/json"}};
    auto it = kTypes.find(path.extension().string());
    return Pistache::Http::Mime::MediaType::fromString(
        it == kTypes.end() ? "application/octet-stream" : it->second);
}

// A file name of web/, no path: letters, digits, '_', '-' and '.', not starting with '.'.
// Checked by hand: std::regex recurses once per character, and a 28,000-letter path ran the
// thread's stack out.
bool safe_asset_name(std::string_view name) {
    constexpr std::size_t kMaxName = 255;
    auto allowed = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    };
    return !name.empty() && name.size() <= kMaxName && name.front() != '.' &&
           std::all_of(name.begin(), name.end(), allowed);
}

}  // namespace

HttpFront::HttpFront(const Config& config, zmq::context_t& context,
                     std::shared_ptr<spdlog::logger> log)
    : config_(config), log_(log), api_{config, context, log}, uploader_(config, context, log) {
    using namespace Pistache::Rest;
    Routes::Get(router_, "/", Routes::bind(&HttpFront::index, this));
    Routes::Post(router_, "/upload-file", Routes::bind(&HttpFront::upload, this));
    add_table_routes(router_, api_);
    add_view_routes(router_, api_);
    add_event_routes(router_, api_);
    add_status_routes(router_, api_);
    Routes::Get(router_, "/upload-file", Routes::bind(&HttpFront::wrong_method, this));
    Routes::Get(router_, "/:asset", Routes::bind(&HttpFront::asset, this));
    Routes::NotFound(router_, Routes::bind(&HttpFront::no_route, this));
}

HttpFront::~HttpFront() = default;

int HttpFront::run(StopSignal& stop) {
    Pistache::Address address(config_.http.host, Pistache::Port(config_.http.port));
    endpoint_ = std::make_unique<Pistache::Http::Endpoint>(address);
    auto options = Pistache::Http::Endpoint::options()
                       .threads(config_.http.threads)
                       .flags(Pistache::Tcp::Options::ReuseAddr)
                       .maxRequestSize(config_.http.max_upload_bytes)
                       .maxResponseSize(16u << 20);
    endpoint_->init(options);
    endpoint_->setHandler(std::make_shared<FrontHandler>(
        router_, config_.http.max_upload_bytes,
        [this](const Pistache::Http::Request& request) { return upload_stream(request); }, log_));
    try {
        endpoint_->serveThreaded();
    } catch (const std::exception& e) {
        throw std::runtime_error("http cannot listen on " + config_.http.host + ":" +
                                 std::to_string(config_.http.port) + ": " + e.what() +
                                 " (set [http] host and port in the config)");
    }
    log_->info("http listening host={} port={} max_upload_bytes={}", config_.http.host,
               config_.http.port, config_.http.max_upload_bytes);
    while (!stop.wait_for(std::chrono::seconds(1))) {
    }
    drain();
    endpoint_->shutdown();
    log_->info("http stopped");
    return 0;
}

void HttpFront::drain() {
    int open = gate_.close();
    log_->info("http draining uploads={} timeout_ms={}", open, kDrainTimeout.count());
    int left = gate_.wait(kDrainTimeout);
    if (left > 0) {
        log_->warn("http stopping uploads={} reason=\"still in progress after {} ms\"", left,
                   kDrainTimeout.count());
    } else if (open > 0) {
        // The last answer was handed to Pistache's reactor, which writes it after the handler
        // returns; shutdown() would cut it.
        std::this_thread::sleep_for(kLastAnswerGrace);
    }
}

void HttpFront::index(const Request&, ResponseWriter response) {
    Pistache::Http::serveFile(response, (config_.http.web_root / "index.html").string(),
                              MIME(Text, Html));
}

void HttpFront::asset(const Request& request, ResponseWriter response) {
    std::string name = request.param(":asset").as<std::string>();
    auto path = config_.http.web_root / name;
    std::error_code error;
    if (!safe_asset_name(name) || !std::filesystem::is_regular_file(path, error)) {
        const std::string shown =
            name.size() <= 100
                ? name
                : name.substr(0, 100) + "... (" + std::to_string(name.size()) + " characters)";
        send_json(response, error_reply(404, "not_found", "no such page: /" + shown));
        return;
    }
    Pistache::Http::serveFile(response, path.string(), media_type_of(path));
}

void HttpFront::wrong_method(const Request& request, ResponseWriter response) {
    response.headers().add<Pistache::Http::Header::Allow>(Pistache::Http::Method::Post);
    send_json(response, error_reply(405, "method_not_allowed",
                                    request.resource() +
                                        " takes POST: a multipart/form-data form with a field "
                                        "named file, or a text/csv body with ?table=NAME"));
}

void HttpFront::no_route(const Request& request, ResponseWriter response) {
    send_json(
        response,
        error_reply(404, "not_found",
                    "no route for " + std::string(Pistache::Http::methodString(request.method())) +
                        " " + request.resource()));
}

void HttpFront::upload(const Request& request, ResponseWriter response) {
    if (!authorized(request, config_.http.write_token)) {
        response.headers().addRaw(Pistache::Http::Header::Raw("WWW-Authenticate", "Bearer"));
        send_json(response, error_reply(401, "unauthorized",
                                        "this server requires Authorization: Bearer <token> "
                                        "for uploads (http.write_token)"));
        return;
    }
    answer(response, *log_, [&] {
        std::unique_ptr<UploadStream> stream = admit(request);
        stream->feed(request.body());
        return stream->finish();
    });
}

std::unique_ptr<UploadStream> HttpFront::upload_stream(const Pistache::Http::Request& request) {
    if (!authorized(request, config_.http.write_token)) {
        return nullptr;  // upload() answers 401
    }
    return admit(request);
}

std::unique_ptr<UploadStream> HttpFront::admit(const Pistache::Http::Request& request) {
    auto stream = std::make_unique<UploadStream>(uploader_, request);
    if (auto ticket = gate_.enter()) {
        stream->hold(std::move(*ticket));
    } else {
        stream->refuse(error_reply(
            503, "shutting_down", "the server is stopping; send the upload again once it is back"));
    }
    return stream;
}

}  // namespace tdc::http
