#include "stages/checker/checker.hpp"

#include "common/db.hpp"

namespace tdc {

namespace {

// PostgreSQL type oids that travel as typed msgpack values.
constexpr pqxx::oid kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kFloat4 = 700, kFloat8 = 701;

// Takes the view's next event number. The catalog row makes it survive restarts.
const char* const kNextSeqSql =
    "UPDATE tinydevcrm.views SET last_seq = last_seq + 1 WHERE name = $1 RETURNING last_seq";

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

Checker::Checker(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log)
    : config_(config),
      log_(std::move(log)),
      bus_(context, config.endpoints.bus, wire::kCheckerService),
      events_(context, zmq::socket_type::pub),
      db_(*config.database_url, *log_) {
    events_.set(zmq::sockopt::linger, 1000);
    events_.connect(config.endpoints.events_in);
}

int Checker::run(StopSignal& stop) {
    stop_ = &stop;
    if (!db_.ensure(*stop_)) {
        return 0;
    }
    log_->info("checker ready");
    serve(
        bus_, stop, [this](BusMessage& message) { return handle(message); }, *log_);
    log_->info("checker stopped");
    return 0;
}

bool Checker::handle(BusMessage& message) {
    std::string kind = wire::peek_kind(message.body);
    if (kind == wire::Refreshed::kKind) {
        on_refreshed(wire::decode<wire::Refreshed>(message.body));
    } else {
        log_->warn("message ignored kind={}", kind);
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
    try {
        pqxx::work tx(*db_);
        pqxx::result rows = tx.exec("SELECT * FROM " + quote_identifier(refreshed.view));
        if (rows.empty()) {
            log_->trace("view empty view={} as_of={}", refreshed.view, refreshed.as_of);
            return;
        }
        event.seq = tx.exec_params1(kNextSeqSql, refreshed.view)[0].as<std::uint64_t>();
        tx.commit();
        for (pqxx::row::size_type c = 0; c < rows.columns(); ++c) {
            event.columns.emplace_back(rows.column_name(c));
        }
        for (const auto& row : rows) {
            auto& out = event.rows.emplace_back();
            for (const auto& field : row) {
                out.push_back(event_value(field));
            }
        }
        event.row_count = rows.size();
    } catch (const pqxx::broken_connection&) {
        log_->warn("check failed view={} reason=\"connection lost\"", refreshed.view);
        db_.drop();
        return;
    } catch (const std::exception& e) {
        log_->warn("check failed view={} reason=\"{}\"", refreshed.view, e.what());
        return;
    }
    event.view = refreshed.view;
    event.table = refreshed.table;
    event.as_of = refreshed.as_of;
    publish(event);
}

void Checker::publish(const wire::Event& event) {
    events_.send(zmq::buffer(event.view), zmq::send_flags::sndmore);
    events_.send(wire::encode(event), zmq::send_flags::none);
    log_->debug("event published view={} seq={} as_of={} rows={}", event.view, event.seq,
                event.as_of, event.row_count);
}

}  // namespace tdc
