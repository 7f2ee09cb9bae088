#include "stages/view/view.hpp"

#include "common/db.hpp"

namespace tdc {

namespace {

constexpr std::size_t kMaxIdentifierBytes = 63;
constexpr std::string_view kReferenceSuffix = "_current_second";

bool is_integer_type(const std::string& type) {
    return type == "integer" || type == "bigint" || type == "smallint";
}

// Cuts `text` to at most `bytes` bytes without splitting a UTF-8 character.
std::string cut_utf8(const std::string& text, std::size_t bytes) {
    if (text.size() <= bytes) {
        return text;
    }
    std::size_t end = bytes;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
        --end;
    }
    return text.substr(0, end);
}

const char* const kCatalogViewsSql =
    "SELECT name, source_table FROM tinydevcrm.views ORDER BY name";

const char* const kRegisterViewSql = R"sql(
INSERT INTO tinydevcrm.views (name, source_table, sql) VALUES ($1, $2, $3)
ON CONFLICT (name) DO NOTHING
)sql";

const char* const kAsOfSql =
    R"sql(SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))sql";

}  // namespace

ReferenceView reference_view(const std::string& table,
                             const std::vector<wire::ColumnDef>& columns) {
    ReferenceView view;
    view.name = cut_utf8(table, kMaxIdentifierBytes - kReferenceSuffix.size()) +
                std::string(kReferenceSuffix);
    for (const auto& column : columns) {
        if (is_integer_type(column.type)) {
            view.sql = "SELECT * FROM " + quote_identifier(table) + " WHERE " +
                       quote_identifier(column.name) +
                       " = floor(extract(second FROM now() AT TIME ZONE 'UTC'))::int % 10";
            return view;
        }
    }
    view.reason = "table \"" + table + "\" has no integer column to match the current second";
    return view;
}

ViewStage::ViewStage(const Config& config, zmq::context_t& context,
                     std::shared_ptr<spdlog::logger> log)
    : config_(config),
      log_(std::move(log)),
      bus_(context, config.endpoints.bus, wire::kViewService),
      checker_(context, config.endpoints.bus),
      db_(*config.database_url, *log_) {}

int ViewStage::run(StopSignal& stop) {
    stop_ = &stop;
    if (!ensure_connected()) {
        return 0;
    }
    log_->info("view ready views={}", views_.size());
    serve(
        bus_, stop, [this](BusMessage& message) { return handle(message); }, *log_);
    log_->info("view stopped");
    return 0;
}

bool ViewStage::ensure_connected() {
    bool was_open = db_.open();
    if (!db_.ensure(*stop_)) {
        return false;
    }
    if (!was_open) {
        load_catalog();
    }
    return true;
}

void ViewStage::load_catalog() {
    pqxx::read_transaction tx(*db_);
    views_.clear();
    for (const auto& row : tx.exec(kCatalogViewsSql)) {
        views_.push_back({row[0].c_str(), row[1].c_str()});
    }
}

bool ViewStage::handle(BusMessage& message) {
    std::string kind = wire::peek_kind(message.body);
    if (kind == wire::Refresh::kKind) {
        on_refresh(wire::decode<wire::Refresh>(message.body));
    } else if (kind == wire::TableLoaded::kKind) {
        on_table_loaded(message.route, wire::decode<wire::TableLoaded>(message.body));
    } else {
        log_->warn("message ignored kind={}", kind);
    }
    return true;
}

void ViewStage::on_table_loaded(const wire::Route& route, const wire::TableLoaded& request) {
    wire::ViewsReady ready;
    ready.views.push_back(create_reference_view(request));
    bus_.reply(route, wire::encode(ready), true);
}

wire::ViewInfo ViewStage::create_reference_view(const wire::TableLoaded& request) {
    ReferenceView reference = reference_view(request.table, request.columns);
    wire::ViewInfo info;
    info.name = reference.name;
    info.reason = reference.reason;
    if (!reference.reason.empty() || !ensure_connected()) {
        info.name.clear();
        return info;
    }
    try {
        pqxx::work tx(*db_);
        tx.exec("CREATE MATERIALIZED VIEW IF NOT EXISTS " + quote_identifier(reference.name) +
                " AS " + reference.sql);
        tx.exec_params(kRegisterViewSql, reference.name, request.table, reference.sql);
        tx.commit();
        info.created = true;
        load_catalog();
        log_->info("view created view={} table={}", reference.name, request.table);
    } catch (const std::exception& e) {
        info.reason = e.what();
        log_->warn("view create failed view={} reason=\"{}\"", reference.name, e.what());
    }
    return info;
}

void ViewStage::on_refresh(const wire::Refresh& request) {
    if (request.tick <= last_tick_) {
        log_->warn("tick ignored tick={} last_tick={}", request.tick, last_tick_);
        return;
    }
    if (last_tick_ != 0 && request.tick != last_tick_ + 1) {
        log_->debug("tick gap tick={} last_tick={}", request.tick, last_tick_);
    }
    last_tick_ = request.tick;
    if (!ensure_connected()) {
        return;
    }
    for (const auto& view : views_) {
        refresh_one(view, request.tick);
    }
}

void ViewStage::refresh_one(const View& view, std::int64_t tick) {
    wire::Refreshed done;
    try {
        pqxx::work tx(*db_);
        done.as_of = tx.exec(kAsOfSql)[0][0].c_str();
        tx.exec("REFRESH MATERIALIZED VIEW " + quote_identifier(view.name));
        tx.commit();
    } catch (const pqxx::broken_connection& e) {
        log_->warn("refresh failed view={} reason=\"connection lost\"", view.name);
        db_.drop();
        return;
    } catch (const std::exception& e) {
        log_->warn("refresh failed view={} reason=\"{}\"", view.name, e.what());
        return;
    }
    done.view = view.name;
    done.table = view.table;
    done.tick = tick;
    log_->trace("view refreshed view={} as_of={}", view.name, done.as_of);
    checker_.send(wire::kCheckerService, "", wire::encode(done));
}

}  // namespace tdc
