// The wire format: every message that crosses a ZeroMQ socket in tinydevcrm.
//
// Every body is a msgpack map carrying `kind` (a string naming the message) and `v` (the
// format version), so tools in any language can read it. Bus traffic between stages is two
// frames: a `Route` map the broker reads, then the body. Events on the PUB side are two
// frames too: the topic (the view's name), then an `Event` map; topics with the reserved
// kSyncTopicPrefix carry the broker's `Subscribed` answer instead.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>
#include <zmq.hpp>

namespace tdc::wire {

inline constexpr int kVersion = 1;

// Bus services: the names stages register under with the broker.
inline constexpr std::string_view kLoaderService = "loader";
inline constexpr std::string_view kViewService = "view";
inline constexpr std::string_view kCheckerService = "checker";
// The service the broker answers itself: status requests and the stages' reports to it.
inline constexpr std::string_view kBrokerService = "broker";

// A message that cannot be decoded: wrong kind, wrong version or not msgpack.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// First frame of every bus message. Clients fill `service` and `session`; the broker fills
// `client` with the sender's identity on the way to a worker, and a worker echoes the route
// it received when it replies. An empty `session` means "any worker, no reply expected";
// a non-empty one pins every message of that session to one worker until a reply with
// `last` set ends it.
struct Route {
    std::string service;
    std::string session;
    std::string client;
    bool last = false;
    MSGPACK_DEFINE_MAP(service, session, client, last);
};

// Worker -> broker, alone in its frame: "I serve `service` and am idle".
struct Ready {
    static constexpr std::string_view kKind = "ready";
    std::string kind{kKind};
    int v = kVersion;
    std::string service;
    MSGPACK_DEFINE_MAP(kind, v, service);
};

// Worker -> broker, alone in its frame: "I stop serving `service`", the last message of a
// worker that stops in order. The broker forgets it at once, as a lifecycle event, not trouble.
struct Leaving {
    static constexpr std::string_view kKind = "leaving";
    std::string kind{kKind};
    int v = kVersion;
    std::string service;
    MSGPACK_DEFINE_MAP(kind, v, service);
};

// Broker -> client, when no worker of the service answers in time or a worker vanished.
struct Unavailable {
    static constexpr std::string_view kKind = "unavailable";
    std::string kind{kKind};
    int v = kVersion;
    std::string service;
    std::string reason;
    MSGPACK_DEFINE_MAP(kind, v, service, reason);
};

struct ColumnDef {
    std::string name;
    std::string type;  // PostgreSQL type name, one of a fixed list the loader checks
    MSGPACK_DEFINE_MAP(name, type);
};

// http -> loader: opens an upload session. The loader answers with LoadAck{seq = 0} once the
// table is created inside its transaction, or with a LoadResult refusing it.
struct LoadBegin {
    static constexpr std::string_view kKind = "load_begin";
    std::string kind{kKind};
    int v = kVersion;
    std::string table;
    std::string mode = "create";  // create | replace | append
    std::vector<ColumnDef> columns;
    // Each column's header text as written in the file, in column order.
    std::vector<std::string> headers;
    // How the batches carry the rows: "text" in copy_text, "binary" in copy_binary.
    std::string format = "text";
    MSGPACK_DEFINE_MAP(kind, v, table, mode, columns, headers, format);
};

// http -> loader: the next `rows` rows of the file, in file order, in the session's format.
// "text": copy_text is PostgreSQL COPY text (FORMAT text): one line per row, each ended by
// '\n', fields separated by tabs, \N for SQL NULL, and backslash, tab, newline and carriage
// return escaped with a backslash, in UTF-8. "binary": copy_binary (msgpack bin) is that many
// tuples of PostgreSQL's binary COPY format, without the header and trailer, which the loader
// adds. The loader hands either to COPY as it is.
struct LoadBatch {
    static constexpr std::string_view kKind = "load_batch";
    std::string kind{kKind};
    int v = kVersion;
    std::uint64_t seq = 0;   // 1, 2, ... within the session
    std::uint64_t rows = 0;  // lines in `copy_text`, or tuples in `copy_binary`
    std::string copy_text;
    std::vector<char> copy_binary;
    MSGPACK_DEFINE_MAP(kind, v, seq, rows, copy_text, copy_binary);
};

// loader -> http: batch `seq` is written to COPY; the sender may send more.
struct LoadAck {
    static constexpr std::string_view kKind = "load_ack";
    std::string kind{kKind};
    int v = kVersion;
    std::uint64_t seq = 0;
    MSGPACK_DEFINE_MAP(kind, v, seq);
};

// http -> loader: no more batches; commit if `rows` matches what arrived.
struct LoadEnd {
    static constexpr std::string_view kKind = "load_end";
    std::string kind{kKind};
    int v = kVersion;
    std::uint64_t batches = 0;
    std::uint64_t rows = 0;
    MSGPACK_DEFINE_MAP(kind, v, batches, rows);
};

// http -> loader: the client went away; roll back.
struct LoadAbort {
    static constexpr std::string_view kKind = "load_abort";
    std::string kind{kKind};
    int v = kVersion;
    std::string reason;
    MSGPACK_DEFINE_MAP(kind, v, reason);
};

// What became of a table's views: `created` false with a `reason` when none could be made.
struct ViewInfo {
    std::string name;
    bool created = false;
    std::string reason;
    MSGPACK_DEFINE_MAP(name, created, reason);
};

// loader -> http, ends the session: committed (`ok`) or refused with an HTTP status.
struct LoadResult {
    static constexpr std::string_view kKind = "load_result";
    std::string kind{kKind};
    int v = kVersion;
    bool ok = false;
    int status = 500;
    std::string error;
    std::string detail;
    std::string table;
    std::uint64_t rows = 0;
    std::vector<ViewInfo> views;
    MSGPACK_DEFINE_MAP(kind, v, ok, status, error, detail, table, rows, views);
};

// loader -> view: a table was committed; make its views. Answered with ViewsReady.
struct TableLoaded {
    static constexpr std::string_view kKind = "table_loaded";
    std::string kind{kKind};
    int v = kVersion;
    std::string table;
    std::vector<ColumnDef> columns;
    MSGPACK_DEFINE_MAP(kind, v, table, columns);
};

struct ViewsReady {
    static constexpr std::string_view kKind = "views_ready";
    std::string kind{kKind};
    int v = kVersion;
    std::vector<ViewInfo> views;
    MSGPACK_DEFINE_MAP(kind, v, views);
};

// ticker -> view: refresh every view now. `tick` is the wall-clock second (Unix time) the
// ticker meant, so a receiver can tell a late tick from a skipped one.
struct Refresh {
    static constexpr std::string_view kKind = "refresh";
    std::string kind{kKind};
    int v = kVersion;
    std::int64_t tick = 0;
    MSGPACK_DEFINE_MAP(kind, v, tick);
};

// view -> checker: `view` was refreshed by a transaction whose timestamp is `as_of`. The
// broker reads it on the way for /status and /metrics.
//
// `duration_ms`, `rows` and `merged_ticks` came later, without a version change: a map key a
// receiver does not know is skipped, and a key missing from a map leaves the field at its
// default, so older and newer stages still understand each other (the broker then shows no
// duration and no rows for that refresh).
struct Refreshed {
    static constexpr std::string_view kKind = "refreshed";
    std::string kind{kKind};
    int v = kVersion;
    std::string view;
    std::string table;
    std::string as_of;  // RFC 3339, UTC, microseconds: 2026-12-03T15:04:05.123456Z
    std::int64_t tick = 0;
    double duration_ms = -1;  // the refresh transaction's wall time; -1 when not sent
    std::int64_t rows = -1;   // the view's rows after the refresh; -1 when not sent
    int merged_ticks = 0;     // ticks merged into this refresh because it was still running
    MSGPACK_DEFINE_MAP(kind, v, view, table, as_of, tick, duration_ms, rows, merged_ticks);
};

// view -> broker (service "broker", no reply): a refresh of `view` failed; it is retried at
// the next tick. Successful refreshes need no report: the broker reads `refreshed`.
struct RefreshFailed {
    static constexpr std::string_view kKind = "refresh_failed";
    std::string kind{kKind};
    int v = kVersion;
    std::string view;
    std::string table;
    std::int64_t tick = 0;
    double duration_ms = -1;  // -1 when it failed before the refresh began (no connection)
    std::string error;
    int merged_ticks = 0;
    MSGPACK_DEFINE_MAP(kind, v, view, table, tick, duration_ms, error, merged_ticks);
};

// One value of an event row: nil, integer, float, boolean or text. Numeric, dates and every
// other PostgreSQL type travel as their text form, so no precision is lost.
struct Value {
    enum class Type { Null, Integer, Float, Boolean, Text };
    Type type = Type::Null;
    std::int64_t integer = 0;
    double real = 0;
    bool boolean = false;
    std::string text;

    static Value of_integer(std::int64_t value);
    static Value of_float(double value);
    static Value of_boolean(bool value);
    static Value of_text(std::string value);
    bool operator==(const Value& other) const;
};

// Topics that start with this prefix belong to the subscription handshake, never to a view:
// PostgreSQL names cannot hold a NUL byte, so no view name starts with it. A subscriber that
// subscribes to `kSyncTopicPrefix + token` gets one message [that topic][Subscribed] from the
// broker; every subscriber skips the topics with this prefix (an empty prefix sees them all).
inline constexpr std::string_view kSyncTopicPrefix{"\0sync/", 6};

// True when `topic` (frame 1 of a message on events_out) belongs to the handshake.
inline bool is_sync_topic(std::string_view topic) {
    return topic.substr(0, kSyncTopicPrefix.size()) == kSyncTopicPrefix;
}

// broker -> one subscriber, under its sync topic: every subscription the subscriber made
// before that topic is in place at the broker, so every event published from now on reaches it.
struct Subscribed {
    static constexpr std::string_view kKind = "subscribed";
    std::string kind{kKind};
    int v = kVersion;
    MSGPACK_DEFINE_MAP(kind, v);
};

// checker -> subscribers (via the broker's PUB side), after frame 1 = the view's name.
struct Event {
    static constexpr std::string_view kKind = "event";
    std::string kind{kKind};
    int v = kVersion;
    std::string view;
    std::string table;
    std::uint64_t seq = 0;  // per view, +1 per event, never reused
    std::string as_of;      // the refresh's timestamp, as in Refreshed
    // The view's row count, also when `rows` holds fewer.
    std::uint64_t row_count = 0;
    std::vector<std::string> columns;
    std::vector<std::vector<Value>> rows;
    bool truncated = false;  // `rows` stops at the checker's row or byte cap
    MSGPACK_DEFINE_MAP(kind, v, view, table, seq, as_of, row_count, columns, rows, truncated);
};

// checker -> broker (service "broker", no reply): the event `seq` of `view` was published.
// The broker counts events per view from these; its forwarder sees only bytes.
struct EventPublished {
    static constexpr std::string_view kKind = "event_published";
    std::string kind{kKind};
    int v = kVersion;
    std::string view;
    std::uint64_t seq = 0;
    std::string as_of;
    std::uint64_t row_count = 0;
    MSGPACK_DEFINE_MAP(kind, v, view, seq, as_of, row_count);
};

// client -> checker (in a session): the logged events of `view` with after < seq <= upto, or
// every later one for upto 0. Answered by ReplayBatch messages, the last one with `done`.
struct ReplayRequest {
    static constexpr std::string_view kKind = "replay_request";
    std::string kind{kKind};
    int v = kVersion;
    std::string view;
    std::uint64_t after = 0;
    std::uint64_t upto = 0;
    MSGPACK_DEFINE_MAP(kind, v, view, after, upto);
};

// checker -> client: events in seq order. `oldest` is the lowest seq still in the log (0 for
// none): a client that asked from below it has lost the events in between.
struct ReplayBatch {
    static constexpr std::string_view kKind = "replay_batch";
    std::string kind{kKind};
    int v = kVersion;
    std::vector<Event> events;
    std::uint64_t oldest = 0;
    bool done = false;
    std::string error;          // non-empty when the log could not be read
    bool unknown_view = false;  // no view has this name (`error` says so too)
    MSGPACK_DEFINE_MAP(kind, v, events, oldest, done, error, unknown_view);
};

// Packs any message above into one ZeroMQ frame.
template <class Message>
zmq::message_t encode(const Message& message) {
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, message);
    return zmq::message_t(buffer.data(), buffer.size());
}

// Reads the `kind` of a body without decoding the rest. Throws Error when the frame is not a
// msgpack map of the current version.
std::string peek_kind(const zmq::message_t& frame);

// Unpacks one frame. No array or map may announce more elements than the frame has bytes:
// msgpack allocates an announced length before reading the elements, so five bytes from any
// peer could otherwise ask for 64 GiB. Throws msgpack::unpack_error on such a frame.
msgpack::object_handle unpack(const zmq::message_t& frame);

// Decodes a body of the expected kind. Throws Error naming the kind found otherwise.
template <class Message>
Message decode(const zmq::message_t& frame) {
    Message message;
    try {
        auto handle = unpack(frame);
        handle.get().convert(message);
    } catch (const msgpack::type_error& e) {
        throw Error("decode failed: " + std::string(Message::kKind) + ": " + e.what());
    } catch (const msgpack::unpack_error& e) {
        throw Error("decode failed: " + std::string(Message::kKind) + ": " + e.what());
    }
    if (message.kind != Message::kKind) {
        throw Error("decode failed: expected " + std::string(Message::kKind) + ", got " +
                    message.kind);
    }
    if (message.v != kVersion) {
        throw Error("decode failed: " + message.kind + " has version " + std::to_string(message.v) +
                    ", this build speaks " + std::to_string(kVersion));
    }
    return message;
}

// Route frames carry no kind; they decode on their own.
Route decode_route(const zmq::message_t& frame);

}  // namespace tdc::wire

// msgpack adaptor for Value: nil, int, float, bool or str on the wire.
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
    namespace adaptor {

    template <>
    struct pack<tdc::wire::Value> {
        template <typename Stream>
        packer<Stream>& operator()(packer<Stream>& out, const tdc::wire::Value& value) const {
            using Type = tdc::wire::Value::Type;
            switch (value.type) {
                case Type::Null:
                    return out.pack_nil();
                case Type::Integer:
                    return out.pack(value.integer);
                case Type::Float:
                    return out.pack(value.real);
                case Type::Boolean:
                    return out.pack(value.boolean);
                case Type::Text:
                    return out.pack(value.text);
            }
            return out.pack_nil();
        }
    };

    template <>
    struct convert<tdc::wire::Value> {
        const msgpack::object& operator()(const msgpack::object& in, tdc::wire::Value& value) const;
    };

    }  // namespace adaptor
}
}  // namespace msgpack
