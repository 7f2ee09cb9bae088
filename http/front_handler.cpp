#include "http/front_handler.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>

#include <pistache/peer.h>

#include "http/request_head.hpp"

namespace tdc::http {

namespace {

using Pistache::Http::ResponseWriter;
using Pistache::Tcp::Peer;
namespace Header = Pistache::Http::Header;

// Where each connection keeps its Connection (Pistache's per-peer data).
constexpr const char* kConnectionKey = "tdc.front";

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

bool streamable(const Pistache::Http::Request& request) {
    return request.method() == Pistache::Http::Method::Post &&
           request.resource() == "/upload-file" && request.headers().has<Header::ContentLength>() &&
           !request.headers().has<Header::TransferEncoding>();
}

// Whether the client waits for 100 Continue before it sends the body (curl does for bodies over
// 1 MiB). 100-continue is the one expectation HTTP/1.1 defines; Pistache 0.0.5 compares the
// header with strcmp() on its unterminated receive buffer, so it never reads it as such.
bool expects_continue(const Pistache::Http::Request& request) {
    return request.headers().has<Header::Expect>();
}

Reply too_large(std::size_t limit) {
    return error_reply(413, "too_large",
                       "the request is over the maximum of " + std::to_string(limit) +
                           " bytes (http.max_upload_bytes)");
}

// The answer to a request Pistache's parser refused. Its own messages name the problem; the
// text of what its allocations and number conversions throw on absurd sizes (bad_alloc,
// basic_string::_M_create, stoull) means nothing to a client and is not passed on.
Reply unreadable(int status, const std::string& reason) {
    static const std::set<std::string> kParserMessages = {
        "Invalid chunk size",
        "Encountered invalid HTTP version",
        "Expected SPACE after http version",
        "Got mutually exclusive ContentLength and TransferEncoding header",
        "Malformed HTTP request after Method, expected SP",
        "Unknown HTTP request method",
        "Unsupported Transfer-Encoding",
    };
    std::string detail = "the request cannot be read";
    detail += kParserMessages.count(reason) > 0
                  ? ": " + reason
                  : " (a length, a chunk size or a header is malformed or out of range)";
    return error_reply(status, status == 501 ? "not_implemented" : "bad_request", detail);
}

// Shuts the connection of `peer` down (`how`: SHUT_WR or SHUT_RDWR) once `written` is kept,
// that is once a write queued on it is out.
void shut_down_when_written(Pistache::Async::Promise<ssize_t> written,
                            const std::shared_ptr<Peer>& peer, int how) {
    std::weak_ptr<Peer> weak = peer;
    written.then(
        [weak, how](ssize_t) {
            if (auto alive = weak.lock()) {
                ::shutdown(alive->fd(), how);
            }
        },
        Pistache::Async::IgnoreException);
}

}  // namespace

// What a connection is in the middle of, between two reads from it.
struct FrontHandler::Connection {
    // The request whose body is streamed: how to answer it.
    Pistache::Http::Version version = Pistache::Http::Version::Http11;
    std::optional<Pistache::Http::ConnectionControl> control;  // its Connection header

    bool streaming = false;                // the body goes to `upload`, not to Pistache
    std::unique_ptr<UploadStream> upload;  // where the body goes
    std::uint64_t left = 0;                // body bytes still to come
    bool gathered = false;                 // Pistache gathers the current request's body
    std::string head;                      // what was read of the current request before its body

    bool closing = false;       // its last answer is given: what still comes is dropped
    std::uint64_t dropped = 0;  // bytes dropped since
};

FrontHandler::FrontHandler(const Pistache::Rest::Router& router, std::size_t max_body_bytes,
                           StreamFactory streams, std::shared_ptr<spdlog::logger> log)
    : RouterHandler(router),
      max_body_bytes_(max_body_bytes),
      streams_(std::move(streams)),
      log_(std::move(log)) {}

FrontHandler::Connection& FrontHandler::connection(const std::shared_ptr<Peer>& peer) {
    auto data = peer->tryGetData(kConnectionKey);
    if (!data) {
        data = std::make_shared<Connection>();
        peer->putData(kConnectionKey, data);
    }
    return *static_cast<Connection*>(data.get());
}

void FrontHandler::onInput(const char* buffer, size_t length, const std::shared_ptr<Peer>& peer) {
    Connection& state = connection(peer);
    if (state.closing) {
        drop(length, peer, state);
        return;
    }
    std::string_view bytes(buffer, length);
    if (state.streaming) {
        bytes = stream(bytes, peer, state);
    }
    if (!bytes.empty()) {
        parse(bytes, peer, state);
    }
}

void FrontHandler::onDisconnection(const std::shared_ptr<Peer>& peer) {
    if (auto data = peer->tryGetData(kConnectionKey)) {
        auto& state = *static_cast<Connection*>(data.get());
        state.upload.reset();  // an upload cut off: its loader session rolls back
        state.streaming = false;
    }
    RouterHandler::onDisconnection(peer);
}

// What Pistache's own handler does with input, but an upload body is streamed and errors are
// answered in JSON.
void FrontHandler::parse(std::string_view bytes, const std::shared_ptr<Peer>& peer,
                         Connection& state) {
    auto parser = getParser(peer);
    auto& request = parser->request;
    try {
        const bool in_head = !state.gathered;
        if (in_head) {
            state.head.append(bytes);
            if (state.head.size() > kMaxHeadBytes) {
                refuse(error_reply(431, "headers_too_large",
                                   "the request line and headers are over " +
                                       std::to_string(kMaxHeadBytes) + " bytes"),
                       peer, state);
                return;
            }
        }
        if (!parser->feed(bytes.data(), bytes.size())) {
            refuse(too_large(max_body_bytes_), peer, state);
            return;
        }
        const auto parsed = parser->parse();
        const bool body_begun = parsed == Pistache::Http::Private::State::Done ||
                                parser->step()->id() == Pistache::Http::Private::BodyStep::Id;
        if (in_head && body_begun) {
            if (auto problem = content_length_problem(state.head)) {
                refuse(error_reply(400, "bad_length", *problem), peer, state);
                return;
            }
        }
        if (parsed == Pistache::Http::Private::State::Done) {
            state.gathered = false;
            state.head.clear();
            ResponseWriter response(request.version(), transport(), this, peer);
            request.copyAddress(peer->address());
            auto control = request.headers().tryGet<Header::Connection>();
            const auto said =
                control ? control->control() : Pistache::Http::ConnectionControl::Close;
            response.headers().add<Header::Connection>(said);
            // A stream of events is written to long after this returns; it ends when the
            // client goes.
            const bool last =
                said == Pistache::Http::ConnectionControl::Close && request.resource() != "/events";
            peer->setIdle(false);
            onRequest(request, std::move(response));
            parser->reset();
            if (last) {
                close_when_written(peer, state);
            }
            return;
        }
        if (in_head && body_begun) {
            start_stream(request, peer, state);
        }
    } catch (const Pistache::Http::HttpError& e) {
        log_->info("request refused status={} reason=\"{}\"", e.code(), e.reason());
        refuse(e.code() == 413 ? too_large(max_body_bytes_) : unreadable(e.code(), e.reason()),
               peer, state);
    } catch (const std::exception& e) {
        log_->info("request refused reason=\"{}\"", e.what());
        refuse(unreadable(400, e.what()), peer, state);
    }
}

// Called once the headers of `request` are read and its body is still to come. An upload body
// of a known length goes to an UploadStream from here on (or is dropped when over the limit);
// any other body is left for Pistache to gather.
void FrontHandler::start_stream(Pistache::Http::Request& request, const std::shared_ptr<Peer>& peer,
                                Connection& state) {
    if (!streamable(request)) {
        state.gathered = true;
        if (expects_continue(request)) {  // curl waits a second for it before a chunked body
            peer->send(Pistache::RawBuffer(std::string(kContinue), kContinue.size()));
        }
        return;
    }
    const std::uint64_t length = request.headers().get<Header::ContentLength>()->value();
    if (length > max_body_bytes_) {
        refuse(too_large(max_body_bytes_), peer, state);
        return;
    }
    Connection next;
    next.version = request.version();
    if (auto control = request.headers().tryGet<Header::Connection>()) {
        next.control = control->control();
    }
    next.streaming = true;
    next.left = length;
    next.upload = streams_(request);
    if (!next.upload) {
        state.gathered = true;
        return;
    }
    if (expects_continue(request)) {
        peer->send(Pistache::RawBuffer(std::string(kContinue), kContinue.size()));
    }
    peer->setIdle(false);
    const std::string start = request.body();  // what arrived with the headers
    getParser(peer)->reset();
    state = std::move(next);
    stream(start, peer, state);
}

// Hands the body's next bytes on; answers the upload once its last byte is in. Returns what
// follows the body: the next request on the connection.
std::string_view FrontHandler::stream(std::string_view bytes, const std::shared_ptr<Peer>& peer,
                                      Connection& state) {
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), state.left));
    take_body(bytes.substr(0, take), state);
    while (state.left > 0 && read_more(peer, state)) {
    }
    if (state.left > 0) {
        return {};
    }
    std::unique_ptr<UploadStream> upload = std::move(state.upload);
    if (upload) {
        ResponseWriter response = writer(state, peer);
        answer(response, *log_, [&upload] { return upload->finish(); });
    }
    const bool last = state.control.value_or(Pistache::Http::ConnectionControl::Close) ==
                      Pistache::Http::ConnectionControl::Close;
    state = Connection();
    getParser(peer)->reset();  // the next request's header time starts now
    if (last) {
        close_when_written(peer, state);
        return {};
    }
    return bytes.substr(take);
}

void FrontHandler::take_body(std::string_view bytes, Connection& state) {
    if (state.upload) {
        state.upload->feed(bytes);
    }
    state.left -= bytes.size();
}

// Pistache reads a socket 4 KiB at a time. The rest of a body that is already there is read
// here in larger pieces, never past the body's end. Returns false when nothing more is there for
// now: Pistache then reads on, and so sees the end of the connection or an error itself.
bool FrontHandler::read_more(const std::shared_ptr<Peer>& peer, Connection& state) {
    buffer_.resize(kReadBytes);
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kReadBytes, state.left));
    const ssize_t got = ::recv(peer->fd(), buffer_.data(), want, 0);
    if (got <= 0) {
        return false;
    }
    take_body(std::string_view(buffer_.data(), static_cast<std::size_t>(got)), state);
    return true;
}

// Answers `reply` with `Connection: close`, then ends the stream once the answer is written.
// Whatever the client sends from here on is dropped (see drop()).
void FrontHandler::refuse(const Reply& reply, const std::shared_ptr<Peer>& peer,
                          Connection& state) {
    getParser(peer)->reset();
    state = Connection();
    state.closing = true;
    ResponseWriter response = writer(state, peer);
    shut_down_when_written(send_json(response, reply), peer, SHUT_WR);
}

// Ends the connection once what is queued on it is written: an answer that says
// `Connection: close` is the last. Pistache 0.0.5 never closes such a connection itself, and its
// idle-peer timeouts do not fire either: a client that stayed connected kept its socket for good.
// Anything the client still sends is dropped.
void FrontHandler::close_when_written(const std::shared_ptr<Peer>& peer, Connection& state) {
    state = Connection();
    state.closing = true;
    // Writes on a connection go out in order: once this empty one is out, so is the answer.
    shut_down_when_written(peer->send(Pistache::RawBuffer(std::string(), 0)), peer, SHUT_RDWR);
}

// A client that sends a whole body before it reads the answer gets to send it, so that the
// answer reaches it; one that sends on past the bound is cut off: its socket stops reading,
// which Pistache sees as the end of the connection and closes. The close resets the
// connection (linger 0): a plain close would leave the client blocked on a full window until
// the kernel dropped the orphaned socket, a minute later.
void FrontHandler::drop(std::size_t length, const std::shared_ptr<Peer>& peer, Connection& state) {
    state.dropped += length;
    if (state.dropped > std::max<std::uint64_t>(kDropBytes, max_body_bytes_)) {
        const ::linger reset{1, 0};
        ::setsockopt(peer->fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        ::shutdown(peer->fd(), SHUT_RD);
    }
}

ResponseWriter FrontHandler::writer(const Connection& state, const std::shared_ptr<Peer>& peer) {
    ResponseWriter response(state.version, transport(), this, peer);
    response.headers().add<Header::Connection>(
        state.control.value_or(Pistache::Http::ConnectionControl::Close));
    return response;
}

}  // namespace tdc::http
