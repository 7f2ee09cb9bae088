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
#include "http/upload_gate.hpp"
#include "http/upload_stream.hpp"

namespace tdc::http {

class HttpFront {
public:
    HttpFront(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log);
    ~HttpFront();

    // Serves until `stop` is requested, then lets the uploads in progress finish (for up to
    // kDrainTimeout) while new ones are answered 503 shutting_down. Returns the process exit
    // code.
    int run(StopSignal& stop);

    // How long a stop waits for the uploads in progress: under the launcher's 10 s, after
    // which it kills a stage.
    static constexpr std::chrono::milliseconds kDrainTimeout{8000};

private:
    void index(const Pistache::Rest::Request& request, Pistache::Http::ResponseWriter response);
    void asset(const Pistache::Rest::Request& request, Pistache::Http::ResponseWriter response);
    void wrong_method(const Pistache::Rest::Request& request,
                      Pistache::Http::ResponseWriter response);
    void no_route(const Pistache::Rest::Request& request, Pistache::Http::ResponseWriter response);
    void upload(const Pistache::Rest::Request& request, Pistache::Http::ResponseWriter response);
    std::unique_ptr<UploadStream> upload_stream(const Pistache::Http::Request& request);
    // An upload's stream, admitted by the gate or, once the front is stopping, refusing.
    std::unique_ptr<UploadStream> admit(const Pistache::Http::Request& request);
    // Closes the gate and waits for the uploads in progress (see run()).
    void drain();

    // How long the last drained upload's answer gets to leave before the server shuts down.
    static constexpr std::chrono::milliseconds kLastAnswerGrace{200};

    const Config& config_;
    std::shared_ptr<spdlog::logger> log_;
    ApiContext api_;
    Uploader uploader_;
    UploadGate gate_;  // uploads in progress, which a stop lets finish
    Pistache::Rest::Router router_;
    std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
};

}  // namespace tdc::http
