// The HTTP front's Pistache handler. Pistache 0.0.5 gathers a whole request in memory before it
// hands it over: an upload is held at least twice, in a receive buffer that grows by doubling
// and in the body copied out of it. Its parser has no hook for a body as it arrives, and it
// answers a request over the size limit itself, in plain text.
//
// This handler reads requests as Pistache's own handler does (Pistache's parser, then the
// router) with two differences: the body of a POST /upload-file that states its Content-Length
// goes to an UploadStream as it arrives, never held by Pistache; and a request over the size
// limit, or one Pistache cannot parse, is answered in JSON (413, 400) and its connection closed.
// Where such a request's body ends cannot be known (a chunked body cut short, a broken request),
// so nothing that follows on the connection is read as a request: it is dropped, up to a bound,
// and the connection is closed once the answer is out.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <pistache/http.h>
#include <pistache/router.h>
#include <spdlog/logger.h>

#include "http/api.hpp"
#include "http/upload_stream.hpp"

namespace tdc::http {

class FrontHandler : public Pistache::Rest::Private::RouterHandler {
public:
    HTTP_PROTOTYPE(FrontHandler)

    // Makes the stream for an upload request whose body is still to come, or returns nullptr
    // to let Pistache gather the body and route the request as usual.
    using StreamFactory =
        std::function<std::unique_ptr<UploadStream>(const Pistache::Http::Request&)>;

    // Requests and upload bodies over `max_body_bytes` are answered 413. `log` gets what
    // failed inside an upload.
    FrontHandler(const Pistache::Rest::Router& router, std::size_t max_body_bytes,
                 StreamFactory streams, std::shared_ptr<spdlog::logger> log);

    void onInput(const char* buffer, size_t length,
                 const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
    void onDisconnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;

private:
    struct Connection;

    Connection& connection(const std::shared_ptr<Pistache::Tcp::Peer>& peer);
    void parse(std::string_view bytes, const std::shared_ptr<Pistache::Tcp::Peer>& peer,
               Connection& connection);
    void start_stream(Pistache::Http::Request& request,
                      const std::shared_ptr<Pistache::Tcp::Peer>& peer, Connection& connection);
    std::string_view stream(std::string_view bytes,
                            const std::shared_ptr<Pistache::Tcp::Peer>& peer,
                            Connection& connection);
    void take_body(std::string_view bytes, Connection& connection);
    void refuse(const Reply& reply, const std::shared_ptr<Pistache::Tcp::Peer>& peer,
                Connection& connection);
    void drop(std::size_t length, const std::shared_ptr<Pistache::Tcp::Peer>& peer,
              Connection& connection);
    void close_when_written(const std::shared_ptr<Pistache::Tcp::Peer>& peer,
                            Connection& connection);
    bool read_more(const std::shared_ptr<Pistache::Tcp::Peer>& peer, Connection& connection);
    Pistache::Http::ResponseWriter writer(const Connection& connection,
                                          const std::shared_ptr<Pistache::Tcp::Peer>& peer);

    static constexpr std::size_t kReadBytes = 256 * 1024;
    // The request line and headers, at most. Pistache parses them again from their start at
    // each read, so their cost grows with the square of their size.
    static constexpr std::size_t kMaxHeadBytes = 64 * 1024;
    // After a refusal, what a client may still send (the rest of a body it sends before it
    // reads the answer) is dropped up to the larger of this and the size limit; past that the
    // connection is cut.
    static constexpr std::size_t kDropBytes = 64 * 1024 * 1024;

    std::size_t max_body_bytes_;
    StreamFactory streams_;
    std::shared_ptr<spdlog::logger> log_;
    std::string buffer_;  // for read_more(); each Pistache thread has its own handler
};

}  // namespace tdc::http
