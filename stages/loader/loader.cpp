#include "stages/loader/loader.hpp"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

#include "common/db.hpp"
#include "stages/loader/copy_in.hpp"
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
    if (request.mode != "create" && request.mode != "replace" && request.mode != "append") {
        return "mode '" + request.mode + "' is not supported (create, replace or append)";
    }
    if (request.columns.empty()) {
        return "a table needs at least one column";
    }
    if (request.format != "text" && request.format != "binary") {
        return "format '" + request.format + "' is not supported (text or binary)";
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

// A load refused for a reason the uploader can act on, answered with `status` and `error`;
// what() is the detail sentence.
class Refusal : public std::runtime_error {
public:
    Refusal(int status, std::string error, const std::string& detail)
        : std::runtime_error(detail), status(status), error(std::move(error)) {}
    int status;
    std::string error;
};

std::string in_quotes(const std::string& name) {
    return "\"" + name + "\"";
}

// Serializes the uploads to one table across loader processes until the transaction ends, so
// that two uploads to the same name never interleave: the second sees what the first
// committed.
const char* const kLockTableSql =
    "SELECT pg_advisory_xact_lock(hashtext('tinydevcrm.load:' || $1))";

// Columns of an existing relation, in order, as name and formatted type.
const char* const kTableColumnsSql = R"sql(
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
)sql";

std::vector<wire::ColumnDef> table_columns(pqxx::work& tx, const std::string& table) {
    std::vector<wire::ColumnDef> columns;
    for (const auto& row : tx.exec_params(kTableColumnsSql, quote_identifier(table))) {
        columns.push_back({row[0].c_str(), row[1].c_str()});
    }
    return columns;
}

// How the table's columns differ from the file's, as a sentence; empty when they match in
// name, type and order.
std::string column_mismatch(const std::vector<wire::ColumnDef>& table,
                            const std::vector<wire::ColumnDef>& file) {
    for (std::size_t i = 0; i < table.size() && i < file.size(); ++i) {
        if (table[i].name != file[i].name || table[i].type != file[i].type) {
            return "column " + std::to_string(i + 1) + " is " + in_quotes(table[i].name) + " " +
                   table[i].type + " in the table but " + in_quotes(file[i].name) + " " +
                   file[i].type + " in the file";
        }
    }
    if (table.size() != file.size()) {
        return "the table has " + std::to_string(table.size()) + " columns, the file " +
               std::to_string(file.size());
    }
    return {};
}

// The catalog's views over a table: their names and the SQL they were made from.
const char* const kDependentViewsSql =
    "SELECT name, sql FROM tinydevcrm.views WHERE source_table = $1 ORDER BY name";

// Records an upload in the catalog: with $3 true it keeps this file's header text, with $4
// true it also restarts the creation time (a new table).
const char* const kRecordTableSql = R"sql(
INSERT INTO tinydevcrm.tables (name, headers) VALUES ($1, $2::jsonb)
ON CONFLICT (name) DO UPDATE SET
    loaded = now(),
    headers = CASE WHEN $3::boolean THEN EXCLUDED.headers ELSE tinydevcrm.tables.headers END,
    created = CASE WHEN $4::boolean THEN now() ELSE tinydevcrm.tables.created END
)sql";

// A batch or end of a session this loader does not hold: the loader restarted mid-upload, or
// a restarted broker sent the session to another loader. Whichever loader held it rolls it back.
constexpr const char* kSessionLost =
    "this loader does not hold the upload (a loader or the broker restarted during it); nothing "
    "of the upload was kept: send it again";

}  // namespace

struct Loader::Session {
    std::string id;
    wire::Route route;  // of the message that began the session: where a late refusal goes
    wire::LoadBegin request;
    std::unique_ptr<pqxx::work> tx;
    std::unique_ptr<CopyIn> copy;  // destroyed before tx, which it runs in
    // Views replace_table() dropped, as name and SELECT, for end() to make again.
    std::vector<std::pair<std::string, std::string>> recreated_views;
    std::uint64_t next_batch = 1;
    std::uint64_t rows = 0;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_heard = started;  // the uploader's last message
};

Loader::Loader(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log)
    : config_(config),
      context_(context),
      log_(std::move(log)),
      bus_(context, config.endpoints.bus, wire::kLoaderService),
      views_(context, config.endpoints.bus),
      db_(*config.database_url, *log_,
          [](const std::string& url) { return std::make_unique<LoadConnection>(url); }) {}

Loader::~Loader() = default;

int Loader::run(StopSignal& stop) {
    stop_ = &stop;
    if (!db_.ensure(*stop_)) {
        return 0;
    }
    log_->info("loader ready");
    serve(
        bus_, stop, [this](BusMessage& message) { return handle(message); }, *log_,
        [this] { abandon_silent_session(); });
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
        throw wire::Error("unknown message kind " + kind);  // serve() refuses its session
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
    // A connection lost while the loader was idle (the server restarted) shows only at its
    // first use. Nothing of this upload has reached the database then, so it is opened once
    // more on a new connection.
    for (int attempt = 1;; ++attempt) {
        if (!db_.ensure(*stop_)) {
            fail(route, 503, "database_unavailable", "the loader is stopping");
            return;
        }
        try {
            open_session(route, request);
            break;
        } catch (const Refusal& e) {
            fail(route, e.status, e.error, e.what());
            return;
        } catch (const pqxx::sql_error& e) {
            int status = e.sqlstate().rfind("42", 0) == 0 ? 400 : 500;
            fail(route, status, "create_failed", one_line(e.what()));
            return;
        } catch (const pqxx::broken_connection& e) {
            if (attempt > 1) {
                fail(route, 503, "database_unavailable", one_line(e.what()));
                return;
            }
            log_->info("db connection lost session={} reason=\"{}\" consequence=\"reconnecting\"",
                       route.session, one_line(e.what()));
            session_.reset();
            db_.drop();
        }
    }
    log_->debug("load begun session={} table={} mode={} columns={} format={}", route.session,
                request.table, request.mode, request.columns.size(), request.format);
    session_->last_heard = std::chrono::steady_clock::now();
    wire::LoadAck ack;
    ack.seq = 0;
    bus_.reply(route, wire::encode(ack), false);
}

// Opens the upload's transaction, prepares its table and starts the COPY.
void Loader::open_session(const wire::Route& route, const wire::LoadBegin& request) {
    session_ = std::make_unique<Session>();
    session_->id = route.session;
    session_->route = route;
    session_->request = request;
    session_->tx = std::make_unique<pqxx::work>(*db_, "load");
    prepare_table(*session_->tx, request);
    std::vector<std::string> columns;
    for (const auto& column : request.columns) {
        columns.push_back(quote_identifier(column.name));
    }
    session_->copy = std::make_unique<CopyIn>(
        static_cast<LoadConnection&>(*db_).handle(), quote_identifier(request.table), columns,
        request.format == "binary" ? CopyIn::Format::Binary : CopyIn::Format::Text);
}

// Ends the open upload when its uploader has sent nothing for http.upload_timeout_ms, as long
// as an uploader waits for the loader: the uploader died or lost the broker and sends nothing
// more. The rollback leaves nothing of the upload, and the refusal frees this loader in the
// broker.
void Loader::abandon_silent_session() {
    if (!session_) {
        return;
    }
    auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - session_->last_heard);
    if (silent.count() < config_.http.upload_timeout_ms) {
        return;
    }
    wire::Route route = session_->route;
    log_->warn("load abandoned session={} table={} silent_ms={}", route.session,
               session_->request.table, silent.count());
    fail(route, 408, "uploader_silent",
         "the uploader sent nothing for " + std::to_string(silent.count()) + " ms");
}

// Makes the table ready for COPY according to the mode, then records the upload in the
// catalog. Throws Refusal when the mode does not fit what exists.
void Loader::prepare_table(pqxx::work& tx, const wire::LoadBegin& request) {
    tx.exec_params(kLockTableSql, request.table);
    auto existing = table_columns(tx, request.table);
    std::string mismatch = existing.empty() ? "" : column_mismatch(existing, request.columns);
    bool new_table = existing.empty();
    if (request.mode == "create") {
        if (!existing.empty()) {
            throw Refusal(409, "table_exists",
                          "table " + in_quotes(request.table) +
                              " already exists; upload with mode=replace or mode=append");
        }
        create_table(tx, request);
    } else if (request.mode == "append") {
        if (existing.empty()) {
            throw Refusal(404, "no_such_table",
                          "cannot append to " + in_quotes(request.table) + ": no such table");
        }
        if (!mismatch.empty()) {
            throw Refusal(409, "columns_differ",
                          "cannot append to " + in_quotes(request.table) + ": " + mismatch);
        }
    } else if (existing.empty()) {
        create_table(tx, request);
    } else if (mismatch.empty()) {
        tx.exec("TRUNCATE " + quote_identifier(request.table));
    } else {
        replace_table(tx, request);
        new_table = true;
    }
    record_table(tx, request, new_table);
}

void Loader::create_table(pqxx::work& tx, const wire::LoadBegin& request) {
    std::string sql = "CREATE TABLE " + quote_identifier(request.table) + " (";
    for (std::size_t i = 0; i < request.columns.size(); ++i) {
        const auto& column = request.columns[i];
        sql += (i ? ", " : "") + quote_identifier(column.name) + " " + column.type;
    }
    tx.exec(sql + ")");
}

// Replaces a table whose columns change. Its catalog views are dropped with it, each view's
// SELECT is tried against the new columns at once, and end() makes the views again over the
// loaded rows, all in the load transaction: readers wait for the commit and then see the new
// table and views. A view whose SELECT does not fit the new columns refuses the load, and so
// does any object outside the catalog that depends on the table.
void Loader::replace_table(pqxx::work& tx, const wire::LoadBegin& request) {
    auto views = tx.exec_params(kDependentViewsSql, request.table);
    for (const auto& view : views) {
        tx.exec("DROP MATERIALIZED VIEW IF EXISTS " + quote_identifier(view[0].c_str()));
    }
    try {
        tx.exec("DROP TABLE " + quote_identifier(request.table));
    } catch (const pqxx::sql_error& e) {
        if (e.sqlstate() != "2BP01") {
            throw;
        }
        throw Refusal(
            409, "table_has_dependents",
            "cannot replace " + in_quotes(request.table) +
                ": objects outside tinydevcrm's catalog depend on it: " + one_line(e.what()));
    }
    create_table(tx, request);
    for (const auto& view : views) {
        std::string name = view[0].c_str();
        std::string select = view[1].c_str();
        try {
            tx.exec("SELECT * FROM (" + select + ") AS tdc_fit LIMIT 0");
        } catch (const pqxx::sql_error& e) {
            throw Refusal(409, "view_conflict",
                          "cannot replace " + in_quotes(request.table) + ": its view " +
                              in_quotes(name) +
                              " does not fit the new columns: " + one_line(e.what()));
        }
        session_->recreated_views.push_back({name, select});
    }
}

// Makes the views replace_table() dropped again, over the loaded rows, before the commit.
void Loader::recreate_views(pqxx::work& tx) {
    for (const auto& [name, select] : session_->recreated_views) {
        try {
            rebuild_view(tx, name, select);
        } catch (const pqxx::sql_error& e) {
            throw Refusal(409, "view_conflict",
                          "cannot replace " + in_quotes(session_->request.table) + ": its view " +
                              in_quotes(name) + " fails on the new rows: " + one_line(e.what()));
        }
    }
}

void Loader::record_table(pqxx::work& tx, const wire::LoadBegin& request, bool new_table) {
    nlohmann::json headers = nlohmann::json::array();
    for (std::size_t i = 0; i < request.columns.size(); ++i) {
        headers.push_back(i < request.headers.size() ? request.headers[i]
                                                     : request.columns[i].name);
    }
    bool new_headers = request.mode != "append";
    tx.exec_params(kRecordTableSql, request.table,
                   headers.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                   new_headers || new_table, new_table);
}

void Loader::batch(const wire::Route& route, wire::LoadBatch request) {
    if (!session_ || session_->id != route.session || !session_->copy) {
        fail(route, 503, "session_lost", kSessionLost);
        return;
    }
    if (request.seq > session_->next_batch) {
        // Batches are sent in order over one connection: one that skips ahead means the ones
        // between were lost on the way, which a broker restarted mid-upload does.
        fail(route, 503, "batch_lost",
             "batch " + std::to_string(session_->next_batch) +
                 " of the upload never reached the loader (the broker restarted?); nothing of "
                 "the upload was kept: send it again");
        return;
    }
    if (request.seq < session_->next_batch) {
        fail(route, 500, "batch_repeated",
             "batch " + std::to_string(request.seq) + " arrived twice");
        return;
    }
    const bool binary = session_->request.format == "binary";
    const std::optional<std::size_t> rows =
        binary ? binary_tuple_count(
                     std::string_view(request.copy_binary.data(), request.copy_binary.size()),
                     session_->request.columns.size())
               : copy_line_count(request.copy_text);
    if (!rows || *rows != request.rows) {
        fail(route, 400, "bad_batch",
             "batch " + std::to_string(request.seq) + " announces " + std::to_string(request.rows) +
                 " rows but its COPY data holds " +
                 (rows ? std::to_string(*rows) : std::string("a cut row at the end")));
        return;
    }
    try {
        session_->copy->write(
            binary ? std::string_view(request.copy_binary.data(), request.copy_binary.size())
                   : std::string_view(request.copy_text));
    } catch (const std::exception& e) {
        fail(route, 400, "copy_failed", one_line(e.what()));
        return;
    }
    session_->rows += request.rows;
    ++session_->next_batch;
    session_->last_heard = std::chrono::steady_clock::now();
    wire::LoadAck ack;
    ack.seq = request.seq;
    bus_.reply(route, wire::encode(ack), false);
}

void Loader::end(const wire::Route& route, const wire::LoadEnd& request) {
    if (!session_ || session_->id != route.session) {
        fail(route, 503, "session_lost", kSessionLost);
        return;
    }
    if (request.rows != session_->rows) {
        fail(route, 400, "row_count_mismatch",
             "the uploader sent " + std::to_string(request.rows) + " rows, " +
                 std::to_string(session_->rows) + " arrived");
        return;
    }
    try {
        session_->copy->finish();
        recreate_views(*session_->tx);
        session_->tx->commit();
    } catch (const Refusal& e) {
        fail(route, e.status, e.error, e.what());
        return;
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
    // A refusal of the client's input is the client's to fix; one of ours (5xx) is worth a look.
    log_->log(status >= 500 ? spdlog::level::warn : spdlog::level::info,
              "load refused session={} status={} error={} detail=\"{}\"", route.session, status,
              error, detail);
    wire::LoadResult result;
    result.status = status;
    result.error = error;
    result.detail = detail;
    bus_.reply(route, wire::encode(result), true);
}

}  // namespace tdc
