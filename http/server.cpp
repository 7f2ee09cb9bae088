#include "http/server.hpp"

#include <map>
#include <regex>
#include <stdexcept>
#include <string>

#include "http/multipart.hpp"

namespace tdc::http {

namespace {

using Pistache::Http::Code;
using Pistache::Http::ResponseWriter;
using Pistache::Rest::Request;

std::string content_type(const Request& request) {
    auto header = request.headers().tryGet<Pistache::Http::Header::ContentType>();
    return header ? header->mime().raw() : std::string();
}

// Reads the upload's settings from the query string, then from form fields.
void read_param(UploadParams& params, const std::string& key, const std::string& value) {
    if (key == "table") {
        params.table = value;
    } else if (key == "mode") {
        params.mode = value;
    } else if (key == "encoding") {
        params.options.encoding = value;
    } else if (key == "delimiter" && !value.empty()) {
        params.options.delimiter = value == "\\t" || value == "tab" ? '\t' : value[0];
    } else if (key == "decimal_comma") {
        params.options.decimal_comma = value == "1" || value == "true";
    } else if (key == "types") {
        auto types = nlohmann::json::parse(value, nullptr, false);
        if (!types.is_object()) {
            throw std::invalid_argument("types must be a JSON object of column name to type");
        }
        for (const auto& [column, type] : types.items()) {
            auto parsed =
                type.is_string() ? csv::type_from_sql_name(type.get<std::string>()) : std::nullopt;
            if (!parsed) {
                throw std::invalid_argument("types: column '" + column + "' has an unknown type " +
                                            type.dump());
            }
            params.options.types[column] = *parsed;
        }
    }
}

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

const std::vector<std::string> kParamNames = {"table",     "mode",          "encoding",
                                              "delimiter", "decimal_comma", "types"};

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
    Routes::Get(router_, "/:asset", Routes::bind(&HttpFront::asset, this));
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
    endpoint_->setHandler(router_.handler());
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
    endpoint_->shutdown();
    log_->info("http stopped");
    return 0;
}

void HttpFront::index(const Request&, ResponseWriter response) {
    Pistache::Http::serveFile(response, (config_.http.web_root / "index.html").string(),
                              MIME(Text, Html));
}

void HttpFront::asset(const Request& request, ResponseWriter response) {
    static const std::regex kSafeName(R"([A-Za-z0-9_\-][A-Za-z0-9_.\-]*)");
    std::string name = request.param(":asset").as<std::string>();
    auto path = config_.http.web_root / name;
    if (!std::regex_match(name, kSafeName) || !std::filesystem::is_regular_file(path)) {
        send_json(response, error_reply(404, "not_found", "no such page: /" + name));
        return;
    }
    Pistache::Http::serveFile(response, path.string(), media_type_of(path));
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
        try {
            return handle_upload(request);
        } catch (const MultipartError& e) {
            return error_reply(400, "bad_multipart", e.what());
        }
    });
}

Reply HttpFront::handle_upload(const Request& request) {
    UploadParams params;
    for (const auto& key : kParamNames) {
        if (auto value = query_param(request, key)) {
            read_param(params, key, *value);
        }
    }
    std::string type = content_type(request);
    if (type.rfind("multipart/form-data", 0) == 0) {
        auto boundary = multipart_boundary(type);
        if (!boundary) {
            return error_reply(400, "bad_multipart", "multipart/form-data without a boundary");
        }
        std::optional<Part> file;
        for (auto& part : parse_multipart(request.body(), *boundary)) {
            if (part.name == "file" && part.filename) {
                file = part;
            } else {
                read_param(params, part.name, std::string(part.content));
            }
        }
        if (!file) {
            return error_reply(400, "no_file", "the form has no file field named 'file'");
        }
        params.file_name = *file->filename;
        return uploader_.upload(file->content, params);
    }
    if (type.rfind("text/csv", 0) == 0 || type.rfind("application/csv", 0) == 0 ||
        type.rfind("text/plain", 0) == 0) {
        if (params.table.empty()) {
            return error_reply(400, "no_table", "a raw CSV upload needs ?table=NAME");
        }
        return uploader_.upload(request.body(), params);
    }
    return error_reply(
        415, "unsupported_media_type",
        "send multipart/form-data with a 'file' field or a text/csv body, not '" + type + "'");
}

}  // namespace tdc::http
