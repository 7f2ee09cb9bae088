// The HTTP front (Pistache): serves the upload page from web/ and accepts uploads.
//   GET  /              the page
//   GET  /<asset>       a file of web/ (letters, digits, '.', '-', '_' only)
//   POST /upload-file   multipart/form-data (field `file`) or a raw text/csv body, read as it
//                       arrives (front_handler.hpp)
#pragma once

#include <memory>

#include <pistache/endpoint.h>
#include <pistache/router.h>
#include <spdlog/logger.h>
#include <zmq.hpp>

#include "common/config.hpp"
#include "common/stop.hpp"
#include "http/api.hpp"
#include "http/upload.hpp"
#include "http/upload_stream.hpp"

namespace tdc::http {

class HttpFront {
public:
    HttpFront(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log);
    ~HttpFront();

    // Serves until `stop` is requested. Returns the process exit code.
    int run(StopSignal& stop);

private:
    void index(const Pistache::Rest::Request& request, Pistache::Http::ResponseWriter response);
    void asset(const Pistache::Rest::Request& request, Pistache::Http::ResponseWriter response);
    void upload(const Pistache::Rest::Request& request, Pistache::Http::ResponseWriter response);
    std::unique_ptr<UploadStream> upload_stream(const Pistache::Http::Request& request);

    const Config& config_;
    std::shared_ptr<spdlog::logger> log_;
    ApiContext api_;
    Uploader uploader_;
    Pistache::Rest::Router router_;
    std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
};

}  // namespace tdc::http
