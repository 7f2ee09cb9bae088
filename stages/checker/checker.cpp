#include "stages/checker/checker.hpp"

#include <algorithm>

#include "common/db.hpp"
#include "common/sockets.hpp"

namespace tdc {

namespace {

// PostgreSQL type oids that travel as typed msgpack values.
constexpr pqxx::oid kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kFloat4 = 700, kFloat8 = 701;

// Events a ReplayBatch carries at most.
constexpr std::size_t kReplayBatchEvents = 100;

// Takes the view's next event number. The catalog row makes it survive restarts, and its row
// lock makes a second checker wait until this event is committed.
const char* const kNextSeqSql =
    "UPDATE tinydevcrm.views SET last_seq = last_seq + 1 WHERE name = $1 RETURNING last_seq";

const char* const kLogEventSql = R"sql(
INSERT INTO tinydevcrm.events (view, seq, as_of, payload)
VALUES ($1, $2, $3::timestamptz, decode($4, 'hex'))
)sql";

// Keeps the newest $3 events of the view: seq numbers have no holes.
const char* const kTrimEventsSql =
    "DELETE FROM tinydevcrm.events WHERE view = $1 AND seq <= $2::bigint - $3::bigint";

const char* const kReplaySql = R"sql(
SELECT encode(payload, 'hex') FROM tinydevcrm.events
WHERE view = $1 AND seq > $2::bigint AND ($3::bigint = 0 OR seq <= $3::bigint) ORDER BY seq
)sql";

const char* const kOldestSql =
    "SELECT coalesce(min(seq), 0) FROM tinydevcrm.events WHERE view = $1";

const char* const kViewExistsSql = "SELECT 1 FROM tinydevcrm.views WHERE name = $1";

std::string to_hex(const zmq::message_t& bytes) {
    static const char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        auto byte = static_cast<const unsigned char*>(bytes.data())[i];
        out += kDigits[byte >> 4];
        out += kDigits[byte & 0xF];
    }
    return out;
}

zmq::message_t from_hex(const std::string& hex) {
    zmq::message_t out(hex.size() / 2);
    auto* bytes = static_cast<unsigned char*>(out.data());
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        bytes[i / 2] = static_cast<unsigned char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    return out;
}

// Roughly the bytes `value` takes in an event: its text, or 9 for a scalar.
std::size_t value_bytes(const wire::Value& value) {
    return value.type == wire::Value::Type::Text ? value.text.size() + 5 : 9;
}

std::string one_line(std::string text) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    while (!text.empty() && text.back() == ' ') {
        text.pop_back();
    }
    return text;
}

}  // namespace

wire::Value event_value(const pqxx::field& field) {
    if (field.is_null()) {
        return {};
    }
    switch (field.type()) {
        case kInt2:
        case kInt4:
        case kInt8:
            return wire::Value::of_integer(field.as<std::int64_t>());
        case kFloat4:
        case kFloat8:
            return wire::Value::of_float(field.as<double>());
        case kBool:
            return wire::Value::of_boolean(field.as<bool>());
        default:
            return wire::Value::of_text(field.c_str());
    }
}

bool EventBudget::admit(const std::vector<wire::Value>& row) {
    std::size_t row_bytes = 0;
    for (const auto& value : row) {
        row_bytes += value_bytes(value);
    }
    full_ = full_ || rows_ >= caps_.rows || bytes_ + row_bytes > caps_.bytes;
    if (full_) {
        return false;
    }
    ++rows_;
    bytes_ += row_bytes;
    return true;
}

void fill_rows(wire::Event& event, const pqxx::result& rows, const EventCaps& caps) {
    // Column 0 is the row key every view has; events carry only the SELECT's columns.
    for (pqxx::row::size_type c = 1; c < rows.columns(); ++c) {
        event.columns.emplace_back(rows.column_name(c));
    }
    event.row_count = rows.size();
    EventBudget budget(caps);
    for (const auto& row : rows) {
        std::vector<wire::Value> out;
        for (pqxx::row::size_type c = 1; c < row.size(); ++c) {
            out.push_back(event_value(row[c]));
        }
        if (!budget.admit(out)) {
            event.truncated = true;
            return;
        }
        event.rows.push_back(std::move(out));
    }
}

Checker::Checker(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log)
    : config_(config),
      log_(std::move(log)),
      bus_(context, config.endpoints.bus, wire::kCheckerService),
      reports_(context, config.endpoints.bus),
      events_(client_socket(context, zmq::socket_type::xpub)),
      db_(*config.database_url, *log_),
      caps_(EventCaps::of(config.events)) {
    events_.set(zmq::sockopt::linger, 1000);
    events_.connect(config.endpoints.events_in);
}

int Checker::run(StopSignal& stop) {
    stop_ = &stop;
    if (!db_.ensure(*stop_)) {
        return 0;
    }
    log_->info("checker ready event_log_per_view={} max_event_rows={} max_event_bytes={}",
               config_.events.log_per_view, caps_.rows, caps_.bytes);
    serve(
        bus_, stop, [this](BusMessage& message) { return handle(message); }, *log_);
    log_->info("checker stopped");
    return 0;
}

bool Checker::handle(BusMessage& message) {
    std::string kind = wire::peek_kind(message.body);
    if (kind == wire::Refreshed::kKind) {
        on_refreshed(wire::decode<wire::Refreshed>(message.body));
    } else if (kind == wire::ReplayRequest::kKind) {
        on_replay(message.route, wire::decode<wire::ReplayRequest>(message.body));
    } else {
        throw wire::Error("unknown message kind " + kind);  // serve() refuses its session
    }
    return true;
}

// TODO(events): the view is read after its refresh committed, so a next refresh landing
// before this read (over a second later, at the default interval) would put newer rows under
// this as_of. Reading in the refresh's own snapshot (pg_export_snapshot) would close that gap.
void Checker::on_refreshed(const wire::Refreshed& refreshed) {
    if (!db_.ensure(*stop_)) {
        return;
    }
    wire::Event event;
    event.view = refreshed.view;
    event.table = refreshed.table;
    event.as_of = refreshed.as_of;
    zmq::message_t body;
    try {
        pqxx::work tx(*db_);
        pqxx::result rows = tx.exec("SELECT * FROM " + quote_identifier(refreshed.view) +
                                    " ORDER BY " + kRowKeyColumn);
        if (rows.empty()) {
            log_->trace("view empty view={} as_of={}", refreshed.view, refreshed.as_of);
            return;
        }
        event.seq = tx.exec_params1(kNextSeqSql, refreshed.view)[0].as<std::uint64_t>();
        fill_rows(event, rows, caps_);
        body = wire::encode(event);
        tx.exec_params(kLogEventSql, event.view, event.seq, event.as_of, to_hex(body));
        tx.exec_params(kTrimEventsSql, event.view, event.seq, config_.events.log_per_view);
        tx.commit();
    } catch (const pqxx::broken_connection&) {
        log_->warn("check failed view={} reason=\"connection lost\"", refreshed.view);
        db_.drop();
        return;
    } catch (const std::exception& e) {
        log_->warn("check failed view={} reason=\"{}\"", refreshed.view, one_line(e.what()));
        return;
    }
    publish(event, std::move(body));
}

void Checker::publish(const wire::Event& event, zmq::message_t body) {
    await_broker();
    events_.send(zmq::buffer(event.view), zmq::send_flags::sndmore);
    events_.send(body, zmq::send_flags::none);
    wire::EventPublished published;
    published.view = event.view;
    published.seq = event.seq;
    published.as_of = event.as_of;
    published.row_count = event.row_count;
    (void)reports_.try_send(wire::kBrokerService, wire::encode(published));
    log_->debug("event published view={} as_of={} rows={} truncated={} seq={}", event.view,
                event.as_of, event.row_count, event.truncated, event.seq);
}

// The event is already logged: an event published before the broker's subscription arrived
// is lost to live subscribers, who find it in the log when the next event shows the gap.
void Checker::await_broker() {
    read_broker_subscriptions();
    if (broker_subscribed_) {
        return;
    }
    auto started = std::chrono::steady_clock::now();
    auto deadline = started + kBrokerWait;
    zmq::pollitem_t item{events_.handle(), 0, ZMQ_POLLIN, 0};
    while (!broker_subscribed_ && std::chrono::steady_clock::now() < deadline) {
        zmq::poll(&item, 1,
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now()));
        read_broker_subscriptions();
    }
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    if (broker_subscribed_) {
        log_->info("broker subscribed waited_ms={}", waited.count());
    } else {
        log_->warn(
            "broker not subscribed waited_ms={} consequence=\"this event reaches "
            "subscribers through the event log only\"",
            waited.count());
    }
}

// The broker subscribes to everything when it connects (byte 1) and the socket reports an
// unsubscription (byte 0) when that connection goes away.
void Checker::read_broker_subscriptions() {
    zmq::message_t frame;
    while (events_.recv(frame, zmq::recv_flags::dontwait)) {
        if (frame.size() > 0) {
            broker_subscribed_ = *static_cast<const char*>(frame.data()) == 1;
        }
    }
}

void Checker::on_replay(const wire::Route& route, const wire::ReplayRequest& request) {
    wire::ReplayBatch batch;
    std::size_t sent = 0;
    try {
        if (!db_.ensure(*stop_)) {
            return;
        }
        pqxx::read_transaction tx(*db_);
        // A name that is only a prefix, or a typo: an empty answer would look like a view with
        // nothing to replay, and its client would wait for events never sent. Such a name has
        // no logged events either (a deleted view's go with it).
        batch.unknown_view = tx.exec_params(kViewExistsSql, request.view).empty();
        if (batch.unknown_view) {
            batch.error = "no view named " + request.view;
        }
        batch.oldest = tx.exec_params1(kOldestSql, request.view)[0].as<std::uint64_t>();
        for (const auto& row :
             tx.exec_params(kReplaySql, request.view, request.after, request.upto)) {
            batch.events.push_back(wire::decode<wire::Event>(from_hex(row[0].c_str())));
            if (batch.events.size() == kReplayBatchEvents) {
                sent += batch.events.size();
                bus_.reply(route, wire::encode(batch), false);
                batch.events.clear();
            }
        }
    } catch (const pqxx::broken_connection&) {
        db_.drop();
        batch.error = "the checker lost its database connection";
    } catch (const std::exception& e) {
        batch.error = one_line(e.what());
    }
    sent += batch.events.size();
    batch.done = true;
    bus_.reply(route, wire::encode(batch), true);
    log_->debug("replay served view={} after={} upto={} events={} error=\"{}\"", request.view,
                request.after, request.upto, sent, batch.error);
}

}  // namespace tdc
