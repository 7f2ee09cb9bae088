#include "stages/loader/loader.hpp"

#include <algorithm>
#include <array>

#include <pqxx/tablewriter>

#include "common/db.hpp"
#include "stages/loader/copy_text.hpp"

namespace tdc {

namespace {

// The only type names that may reach CREATE TABLE: they come from the wire.
constexpr std::array<std::string_view, 8> kAllowedTypes = {"integer",
                                                           "bigint",
                                                           "numeric",
                                                           "boolean",
                                                           "date",
                                                           "timestamp without time zone",
                                                           "timestamp with time zone",
                                                           "text"};

constexpr std::size_t kMaxIdentifierBytes = 63;

bool valid_identifier(const std::string& name) {
    return !name.empty() && name.size() <= kMaxIdentifierBytes &&
           name.find('\0') == std::string::npos;
}

// Why a LoadBegin cannot be served, or empty when it can.
std::string check_begin(const wire::LoadBegin& request) {
    if (!valid_identifier(request.table)) {
        return "table name must be 1 to 63 bytes";
    }
    if (request.mode != "create" && request.mode != "append") {
        return "mode '" + request.mode + "' is not supported (create or append)";
    }
    if (request.columns.empty()) {
        return "a table needs at least one column";
    }
    for (const auto& column : request.columns) {
        if (!valid_identifier(column.name)) {
            return "column name '" + column.name + "' must be 1 to 63 bytes";
        }
        if (std::find(kAllowedTypes.begin(), kAllowedTypes.end(), column.type) ==
            kAllowedTypes.end()) {
            return "column '" + column.name + "' has unsupported type '" + column.type + "'";
        }
    }
    return {};
}

std::string one_line(std::string text) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    while (!text.empty() && text.back() == ' ') {
        text.pop_back();
    }
    return text;
}

// Starts COPY ... FROM STDIN into `table`. tablewriter is the one libpqxx 6.4 writer that
// takes preformatted lines, which lets a whole batch go to the server in one call; the
// escaping is ours (copy_text.hpp), not its multibyte-unsafe one.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
std::unique_ptr<pqxx::tablewriter> open_copy(pqxx::work& tx, const std::string& table,
                                             const std::vector<std::string>& columns) {
    return std::make_unique<pqxx::tablewriter>(tx, quote_identifier(table), columns.begin(),
                                               columns.end());
}
#pragma GCC diagnostic pop

}  // namespace

struct Loader::Session {
    std::string id;
    wire::LoadBegin request;
    std::unique_ptr<pqxx::work> tx;
    std::unique_ptr<pqxx::tablewriter> copy;
    std::uint64_t next_batch = 1;
    std::uint64_t rows = 0;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

Loader::Loader(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log)
    : config_(config),
      context_(context),
      log_(std::move(log)),
      bus_(context, config.endpoints.bus, wire::kLoaderService),
      views_(context, config.endpoints.bus),
      db_(*config.database_url, *log_) {}

Loader::~Loader() = default;

int Loader::run(StopSignal& stop) {
    stop_ = &stop;
    if (!db_.ensure(*stop_)) {
        return 0;
    }
    log_->info("loader ready");
    serve(
        bus_, stop, [this](BusMessage& message) { return handle(message); }, *log_);
    session_.reset();
    log_->info("loader stopped");
    return 0;
}

bool Loader::handle(BusMessage& message) {
    std::string kind = wire::peek_kind(message.body);
    if (kind == wire::LoadBegin::kKind) {
        begin(message.route, wire::decode<wire::LoadBegin>(message.body));
    } else if (kind == wire::LoadBatch::kKind) {
        batch(message.route, wire::decode<wire::LoadBatch>(message.body));
    } else if (kind == wire::LoadEnd::kKind) {
        end(message.route, wire::decode<wire::LoadEnd>(message.body));
    } else if (kind == wire::LoadAbort::kKind) {
        abort(message.route, wire::decode<wire::LoadAbort>(message.body));
    } else {
        log_->warn("message ignored kind={}", kind);
    }
    return true;
}

void Loader::begin(const wire::Route& route, const wire::LoadBegin& request) {
    if (session_) {
        fail(route, 503, "loader_busy", "this loader is already serving an upload");
        return;
    }
    if (std::string why = check_begin(request); !why.empty()) {
        fail(route, 400, "bad_request", why);
        return;
    }
    if (!db_.ensure(*stop_)) {
        fail(route, 503, "database_unavailable", "the loader is stopping");
        return;
    }
    session_ = std::make_unique<Session>();
    session_->id = route.session;
    session_->request = request;
    try {
        session_->tx = std::make_unique<pqxx::work>(*db_, "load");
        if (request.mode == "append") {
            check_append_target(*session_->tx, request);
        } else {
            create_table(*session_->tx, request);
        }
        std::vector<std::string> columns;
        for (const auto& column : request.columns) {
            columns.push_back(quote_identifier(column.name));
        }
        session_->copy = open_copy(*session_->tx, request.table, columns);
    } catch (const pqxx::sql_error& e) {
        std::string state = e.sqlstate();
        int status = state == "42P07" ? 409 : state.rfind("42", 0) == 0 ? 400 : 500;
        std::string error = state == "42P07" ? "table_exists" : "create_failed";
        fail(route, status, error, one_line(e.what()));
        return;
    } catch (const pqxx::broken_connection& e) {
        fail(route, 503, "database_unavailable", one_line(e.what()));
        return;
    }
    log_->debug("load begun session={} table={} mode={} columns={}", route.session, request.table,
                request.mode, request.columns.size());
    wire::LoadAck ack;
    ack.seq = 0;
    bus_.reply(route, wire::encode(ack), false);
}

void Loader::create_table(pqxx::work& tx, const wire::LoadBegin& request) {
    std::string sql = "CREATE TABLE " + quote_identifier(request.table) + " (";
    for (std::size_t i = 0; i < request.columns.size(); ++i) {
        const auto& column = request.columns[i];
        sql += (i ? ", " : "") + quote_identifier(column.name) + " " + column.type;
    }
    tx.exec(sql + ")");
}

// Columns of an existing table, in order, as name and formatted type.
const char* const kTableColumnsSql = R"sql(
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
)sql";

void Loader::check_append_target(pqxx::work& tx, const wire::LoadBegin& request) {
    auto rows = tx.exec_params(kTableColumnsSql, quote_identifier(request.table));
    if (rows.empty()) {
        throw pqxx::sql_error("table \"" + request.table + "\" does not exist", "", "42P01");
    }
    std::string mismatch;
    if (rows.size() != request.columns.size()) {
        mismatch = "the table has " + std::to_string(rows.size()) + " columns, the file " +
                   std::to_string(request.columns.size());
    }
    for (std::size_t i = 0; mismatch.empty() && i < rows.size(); ++i) {
        std::string name = rows[i][0].c_str();
        std::string type = rows[i][1].c_str();
        const auto& want = request.columns[i];
        if (name != want.name || type != want.type) {
            mismatch = "column " + std::to_string(i + 1) + " is \"" + name + "\" " + type +
                       " in the table but \"" + want.name + "\" " + want.type + " in the file";
        }
    }
    if (!mismatch.empty()) {
        throw pqxx::sql_error("cannot append to \"" + request.table + "\": " + mismatch, "",
                              "42P07");
    }
}

void Loader::batch(const wire::Route& route, const wire::LoadBatch& request) {
    if (!session_ || session_->id != route.session || !session_->copy) {
        fail(route, 409, "no_session", "batch for an upload this loader is not serving");
        return;
    }
    if (request.seq != session_->next_batch) {
        fail(route, 400, "batch_out_of_order",
             "expected batch " + std::to_string(session_->next_batch) + ", got " +
                 std::to_string(request.seq));
        return;
    }
    try {
        std::string block;
        for (const auto& row : request.rows) {
            append_copy_line(block, row);
        }
        if (!block.empty()) {
            block.pop_back();  // write_raw_line ends the block with its own newline
            session_->copy->write_raw_line(block);
        }
    } catch (const std::exception& e) {
        fail(route, 400, "copy_failed", one_line(e.what()));
        return;
    }
    session_->rows += request.rows.size();
    ++session_->next_batch;
    wire::LoadAck ack;
    ack.seq = request.seq;
    bus_.reply(route, wire::encode(ack), false);
}

void Loader::end(const wire::Route& route, const wire::LoadEnd& request) {
    if (!session_ || session_->id != route.session) {
        fail(route, 409, "no_session", "end of an upload this loader is not serving");
        return;
    }
    if (request.rows != session_->rows) {
        fail(route, 400, "row_count_mismatch",
             "the uploader sent " + std::to_string(request.rows) + " rows, " +
                 std::to_string(session_->rows) + " arrived");
        return;
    }
    try {
        session_->copy->complete();
        session_->tx->commit();
    } catch (const std::exception& e) {
        fail(route, 400, "commit_failed", one_line(e.what()));
        return;
    }
    auto elapsed = std::chrono::steady_clock::now() - session_->started;
    log_->info("load committed table={} rows={} ms={}", session_->request.table, session_->rows,
               std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count());
    wire::LoadResult result;
    result.ok = true;
    result.status = 201;
    result.table = session_->request.table;
    result.rows = session_->rows;
    result.views = request_views(session_->request);
    finish(route, std::move(result));
}

void Loader::abort(const wire::Route& route, const wire::LoadAbort& request) {
    log_->info("load aborted session={} reason=\"{}\"", route.session, request.reason);
    fail(route, 499, "aborted", request.reason);
}

std::vector<wire::ViewInfo> Loader::request_views(const wire::LoadBegin& request) {
    wire::TableLoaded loaded;
    loaded.table = request.table;
    loaded.columns = request.columns;
    std::string session = new_session_id();
    views_.send(wire::kViewService, session, wire::encode(loaded));
    auto deadline = std::chrono::steady_clock::now() + kViewTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto reply = views_.receive(std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now()));
        if (!reply || reply->route.session != session) {
            continue;  // a late answer to an earlier request
        }
        if (wire::peek_kind(reply->body) == wire::ViewsReady::kKind) {
            return wire::decode<wire::ViewsReady>(reply->body).views;
        }
        break;
    }
    log_->warn("views not confirmed table={} timeout_s={}", request.table, kViewTimeout.count());
    wire::ViewInfo pending;
    pending.reason = "the view stage did not answer in time; views are made when it does";
    return {pending};
}

void Loader::finish(const wire::Route& route, wire::LoadResult result) {
    session_.reset();
    bus_.reply(route, wire::encode(result), true);
}

void Loader::fail(const wire::Route& route, int status, const std::string& error,
                  const std::string& detail) {
    bool was_open = db_.open();
    if (session_ && session_->id == route.session) {
        session_.reset();  // rolls the transaction back: nothing of the upload remains
    }
    if (was_open && !db_.open()) {
        db_.drop();
    }
    log_->warn("load refused session={} status={} error={} detail=\"{}\"", route.session, status,
               error, detail);
    wire::LoadResult result;
    result.status = status;
    result.error = error;
    result.detail = detail;
    bus_.reply(route, wire::encode(result), true);
}

}  // namespace tdc
