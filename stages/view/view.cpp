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
      context_(context),
      db_(*config.database_url, *log_) {}

int ViewStage::run(StopSignal& stop) {
    stop_ = &stop;
    if (!ensure_connected()) {
        return 0;
    }
    sync_refreshers();
    log_->info("view ready views={}", refreshers_.size());
    serve(
        bus_, stop, [this](BusMessage& message) { return handle(message); }, *log_);
    while (!refreshers_.empty()) {
        stop_refresher(std::move(refreshers_.begin()->second));
        refreshers_.erase(refreshers_.begin());
    }
    log_->info("view stopped");
    return 0;
}

bool ViewStage::ensure_connected() {
    return db_.ensure(*stop_);
}

void ViewStage::sync_refreshers() {
    std::map<std::string, std::string> catalog;
    try {
        pqxx::read_transaction tx(*db_);
        for (const auto& row : tx.exec(kCatalogViewsSql)) {
            catalog.emplace(row[0].c_str(), row[1].c_str());
        }
    } catch (const pqxx::broken_connection&) {
        log_->warn("catalog read failed reason=\"connection lost\"");
        db_.drop();
        return;
    } catch (const std::exception& e) {
        log_->warn("catalog read failed reason=\"{}\"", e.what());
        return;
    }
    for (auto it = refreshers_.begin(); it != refreshers_.end();) {
        if (catalog.count(it->first) == 0) {
            log_->info("view dropped view={}", it->first);
            stop_refresher(std::move(it->second));
            it = refreshers_.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& [name, table] : catalog) {
        if (refreshers_.count(name) == 0) {
            refreshers_[name] = std::make_unique<ViewRefresher>(ViewRefresher::Target{name, table},
                                                                config_, context_, log_);
            log_->debug("refresher started view={}", name);
        }
    }
}

void ViewStage::stop_refresher(std::unique_ptr<ViewRefresher> refresher) {
    int pid = refresher->begin_stop();
    if (pid != 0 && db_.open()) {
        try {
            pqxx::nontransaction tx(*db_);
            tx.exec_params("SELECT pg_cancel_backend($1)", pid);
        } catch (const std::exception& e) {
            log_->warn("refresh cancel failed view={} pid={} reason=\"{}\"", refresher->name(), pid,
                       e.what());
        }
    }
    refresher.reset();
}

bool ViewStage::handle(BusMessage& message) {
    std::string kind = wire::peek_kind(message.body);
    if (kind == wire::Refresh::kKind) {
        on_refresh(wire::decode<wire::Refresh>(message.body));
    } else if (kind == wire::TableLoaded::kKind) {
        on_table_loaded(message.route, wire::decode<wire::TableLoaded>(message.body));
    } else {
        throw wire::Error("unknown message kind " + kind);  // serve() refuses its session
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
        bool as_reader = prepare_view_reader();
        pqxx::work tx(*db_);
        tx.exec("SET LOCAL statement_timeout = " + std::to_string(config_.views.create_timeout_ms));
        // Without rows: the upload's reply waits for this, and the first refresh, within a
        // second, fills the view anyway.
        bool made = create_view(tx, reference.name, request.table, reference.sql, as_reader,
                                ViewRows::AtFirstRefresh);
        tx.commit();
        info.created = true;
        sync_refreshers();
        log_->info("view {} view={} table={}", made ? "created" : "kept", reference.name,
                   request.table);
    } catch (const pqxx::broken_connection&) {
        info.reason = "connection to the database lost";
        db_.drop();
    } catch (const std::exception& e) {
        info.reason = e.what();
        log_->warn("view create failed view={} reason=\"{}\"", reference.name, e.what());
    }
    return info;
}

bool ViewStage::prepare_view_reader() {
    try {
        ensure_view_reader(*db_);
        return true;
    } catch (const pqxx::broken_connection&) {
        throw;
    } catch (const std::exception& e) {
        log_->warn(
            "view reader unavailable role={} reason=\"{}\" consequence=\"views are "
            "owned by the stage's own role\"",
            kViewReaderRole, e.what());
        return false;
    }
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
    sync_refreshers();
    for (auto& [name, refresher] : refreshers_) {
        if (!refresher->request(request.tick)) {
            log_->debug("tick merged view={} tick={} merged_total={}", name, request.tick,
                        refresher->merged_total());
        }
    }
}

}  // namespace tdc
