// GET /events: the event stream as Server-Sent Events, for browsers.
//
// One EventFanout per HTTP front holds a SUB socket on the broker's events_out and the open
// streams. Pistache 0.0.5's own response streams abort the process when a peer leaves while
// a write is queued, so the handler takes its own duplicate of the connection's socket and
// returns without answering through Pistache; the fan-out thread writes the response head and
// then every matching event straight to that socket. A client too slow to take a whole
// event at once is disconnected (it resumes with Last-Event-ID), so memory stays bounded.
// A stream is answered only once the SUB socket's handshake with the broker is done (see
// common/subscription.hpp): a browser that sees the stream open gets every later event.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <pistache/peer.h>
#include <pqxx/pqxx>

#include "common/db.hpp"
#include "common/event_json.hpp"
#include "common/sockets.hpp"
#include "common/subscription.hpp"
#include "common/wire.hpp"
#include "http/api.hpp"

namespace tdc::http {

namespace {

// How often an idle stream gets a comment line, so dead peers are found and proxies keep
// the connection open.
constexpr auto kKeepAliveEvery = std::chrono::seconds(15);
// The logged events of one view after a seq, oldest first, for a browser that resumes.
const char* const kBacklogSql =
    "SELECT payload FROM tinydevcrm.events WHERE view = $1 AND seq > $2::bigint "
    "ORDER BY seq LIMIT 1000";

// Streams beyond this are refused with 503: each holds a socket and a buffer.
constexpr std::size_t kMaxStreams = 256;

class EventFanout {
public:
    explicit EventFanout(ApiContext& api)
        : database_url_(api.config.database_url),
          events_out_(api.config.endpoints.events_out),
          log_(api.log),
          events_(client_socket(api.zmq, zmq::socket_type::sub)),
          control_in_(api.zmq, zmq::socket_type::pair),
          control_out_(api.zmq, zmq::socket_type::pair) {
        std::string control =
            "inproc://sse-control-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
        control_in_.bind(control);
        control_out_.connect(control);
        events_.set(zmq::sockopt::subscribe, "");
        events_.connect(api.config.endpoints.events_out);
        thread_ = std::thread([this] { run(); });
    }

    // Takes ownership of `socket` (a connected client) and answers it with an event stream
    // of the views whose name starts with `prefix`. With `resume_after` (the browser's
    // Last-Event-ID) and `prefix` naming one view, the events of that view after that seq
    // come first from the event log; the lock holds live events back meanwhile, and the
    // ones already in the log are not sent twice. Until the fan-out's subscription is
    // confirmed by the broker the stream waits unanswered. Closes the socket and returns
    // false when the stream limit is reached.
    bool add(int socket, std::string prefix, std::optional<std::uint64_t> resume_after) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (streams_.size() + waiting_.size() >= kMaxStreams) {
            close(socket);
            return false;
        }
        Client client{socket, std::move(prefix), resume_after.value_or(0)};
        if (!subscribed_) {
            waiting_.push_back({std::move(client), resume_after.has_value()});
            return true;
        }
        start_stream(std::move(client), resume_after.has_value());
        return true;
    }

    ~EventFanout() {
        control_out_.send(zmq::str_buffer("stop"), zmq::send_flags::none);
        thread_.join();
        for (const auto& client : streams_) {
            close(client.socket);
        }
        for (const auto& waiting : waiting_) {
            close(waiting.client.socket);
        }
    }

private:
    struct Client {
        int socket;
        std::string prefix;
        std::uint64_t sent_seq;  // events of `prefix` up to this seq were sent by replay
    };
    struct Waiting {
        Client client;
        bool resume;
    };

    // Sends the response head and, when resuming, the logged events; then the client gets
    // live events. REQUIRES: mutex_ is held.
    void start_stream(Client client, bool resume) {
        if (!send_whole(client.socket, kHead) || (resume && !replay(client))) {
            close(client.socket);
            return;
        }
        streams_.push_back(std::move(client));
        log_->debug("sse stream opened streams={}", streams_.size());
    }

    // The broker confirmed the subscription: the streams that waited for it open now.
    // TODO(events): after a broker restart the SUB socket resubscribes on its own but is not
    // confirmed again, and open streams miss what is published before that lands; a browser
    // only notices when its stream breaks and resumes with Last-Event-ID.
    void on_subscribed() {
        std::lock_guard<std::mutex> lock(mutex_);
        subscribed_ = true;
        for (auto& waiting : waiting_) {
            start_stream(std::move(waiting.client), waiting.resume);
        }
        log_->info("sse subscribed waiting_streams={}", waiting_.size());
        waiting_.clear();
    }

    // Sends `client` the logged events of its view after its sent_seq, at most 1,000, and
    // advances sent_seq. False when the client went away meanwhile.
    bool replay(Client& client) {
        std::vector<std::string> frames;
        try {
            auto connection = open_connection(*database_url_);
            pqxx::read_transaction tx(*connection);
            for (const auto& row : tx.exec_params(kBacklogSql, client.prefix, client.sent_seq)) {
                pqxx::binarystring bytes(row[0]);
                auto event = wire::decode<wire::Event>(zmq::message_t(bytes.data(), bytes.size()));
                frames.push_back(frame_of(event));
                client.sent_seq = event.seq;
            }
        } catch (const std::exception& e) {
            log_->warn("sse replay failed view={} reason=\"{}\"", client.prefix, e.what());
        }
        for (const auto& frame : frames) {
            if (!send_whole(client.socket, frame)) {
                return false;
            }
        }
        log_->debug("sse replayed view={} events={}", client.prefix, frames.size());
        return true;
    }

    static std::string frame_of(const wire::Event& event) {
        return "id: " + std::to_string(event.seq) + "\ndata: " + dump_line(event_to_json(event)) +
               "\n\n";
    }

    static constexpr std::string_view kHead =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "Connection: close\r\nX-Content-Type-Options: nosniff\r\n\r\n: connected\n\n";

    // Sends all of `data` without blocking; false when the peer is gone or too slow.
    static bool send_whole(int socket, std::string_view data) {
        ssize_t sent = send(socket, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        return sent == static_cast<ssize_t>(data.size());
    }

    void run() {
        SubscriptionSync sync(events_);
        zmq::pollitem_t items[] = {{events_.handle(), 0, ZMQ_POLLIN, 0},
                                   {control_in_.handle(), 0, ZMQ_POLLIN, 0}};
        auto next_keep_alive = std::chrono::steady_clock::now() + kKeepAliveEvery;
        while (true) {
            zmq::poll(items, 2, poll_timeout(sync));
            if (items[1].revents & ZMQ_POLLIN) {
                return;
            }
            if (items[0].revents & ZMQ_POLLIN) {
                on_message(sync);
            }
            if (!sync.confirmed() && std::chrono::steady_clock::now() >= sync.deadline()) {
                retry_subscription(sync);
            }
            if (std::chrono::steady_clock::now() >= next_keep_alive) {
                write_all("", 0, ": keep-alive\n\n");
                next_keep_alive = std::chrono::steady_clock::now() + kKeepAliveEvery;
            }
        }
    }

    static std::chrono::milliseconds poll_timeout(const SubscriptionSync& sync) {
        auto limit = std::chrono::milliseconds(1000);
        if (sync.confirmed()) {
            return limit;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            sync.deadline() - std::chrono::steady_clock::now());
        return std::clamp(left, std::chrono::milliseconds(0), limit);
    }

    // The broker did not answer in time (not up yet, or restarted meanwhile): ask again.
    void retry_subscription(SubscriptionSync& sync) {
        ++sync_retries_;
        if (sync_retries_ == 1) {
            log_->warn("sse not subscribed yet events_out={} consequence=\"streams wait\"",
                       events_out_);
        } else {
            log_->debug("sse not subscribed yet events_out={} retries={}", events_out_,
                        sync_retries_);
        }
        sync.retry();
    }

    void on_message(SubscriptionSync& sync) {
        TopicMessage message = receive_topic_message(events_);
        if (wire::is_sync_topic(message.topic.to_string_view())) {
            if (sync.on_sync_message(message)) {
                on_subscribed();
            }
            return;  // our handshake or another subscriber's: never an event
        }
        if (message.body.size() == 0) {
            return;
        }
        try {
            auto event = wire::decode<wire::Event>(message.body);
            write_all(event.view, event.seq, frame_of(event));
        } catch (const wire::Error& e) {
            log_->warn("sse event dropped reason=\"{}\"", e.what());
        }
    }

    // Writes `frame`, event `seq` of `view`, to every stream whose prefix matches `view`
    // (all when `view` is empty) and that replay has not sent it yet; forgets the streams
    // that fail.
    void write_all(const std::string& view, std::uint64_t seq, const std::string& frame) {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto it = streams_.begin(); it != streams_.end();) {
            bool replayed = view == it->prefix && seq <= it->sent_seq;
            bool wanted = view.empty() || (view.rfind(it->prefix, 0) == 0 && !replayed);
            if (!wanted || send_whole(it->socket, frame)) {
                ++it;
                continue;
            }
            int error = errno;
            close(it->socket);
            it = streams_.erase(it);
            log_->debug("sse stream closed streams={} reason=\"{}\"", streams_.size(),
                        error == EAGAIN ? "too slow" : std::strerror(error));
        }
    }

    std::optional<std::string> database_url_;
    std::string events_out_;
    std::shared_ptr<spdlog::logger> log_;
    zmq::socket_t events_;
    zmq::socket_t control_in_;
    zmq::socket_t control_out_;
    std::mutex mutex_;
    std::vector<Client> streams_;   // guarded by mutex_
    std::vector<Waiting> waiting_;  // guarded by mutex_: streams asked for before subscribed_
    bool subscribed_ = false;       // guarded by mutex_
    int sync_retries_ = 0;          // fan-out thread only
    std::thread thread_;
};

}  // namespace

void add_event_routes(Pistache::Rest::Router& router, ApiContext& api) {
    auto fanout = std::make_shared<EventFanout>(api);
    auto log = api.log;
    Pistache::Rest::Routes::Get(
        router, "/events",
        [fanout, log](const Pistache::Rest::Request& request,
                      Pistache::Http::ResponseWriter response) {
            std::string prefix = query_param(request, "view").value_or("");
            auto peer = response.getPeer();
            int socket = peer ? dup(peer->fd()) : -1;
            if (socket < 0) {
                return Pistache::Rest::Route::Result::Ok;  // the client is already gone
            }
            std::optional<std::uint64_t> resume_after;
            if (auto last = request.headers().tryGetRaw("Last-Event-ID")) {
                try {
                    resume_after = std::stoull(last->value());
                } catch (const std::exception&) {
                    // not a seq of ours: start live
                }
            }
            if (!fanout->add(socket, prefix, resume_after)) {
                log->warn("sse stream refused reason=\"limit reached\" limit={}", kMaxStreams);
            }
            return Pistache::Rest::Route::Result::Ok;
        });
}

}  // namespace tdc::http
