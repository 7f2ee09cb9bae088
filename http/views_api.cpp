// Views over the HTTP front: GET /views, POST /views {name, sql}, GET /views/{name} and
// DELETE /views/{name}. Each request opens its own connection. A posted SELECT is checked and
// made into a view as kViewReaderRole, a role that can read user tables and nothing else, under
// a statement timeout; the view stage picks a new view up at its next tick.
#include <algorithm>
#include <cctype>
#include <sstream>

#include <pqxx/pqxx>

#include "common/db.hpp"
#include "http/api.hpp"

namespace tdc::http {

namespace {

using Pistache::Http::ResponseWriter;
using Pistache::Rest::Request;
using Pistache::Rest::Route;

// Limits making a view (checking and filling it) and how long a delete may wait for the
// view's refresh in flight: [views] create_timeout_ms.
std::string statement_timeout(const Config& config) {
    return "SET LOCAL statement_timeout = " + std::to_string(config.views.create_timeout_ms);
}

// How many of a view's last refreshes GET /views/{name} shows.
constexpr int kShownRefreshes = 20;

constexpr std::size_t kMaxNameBytes = 63;

// Rejects anything but one query: the extended protocol takes one statement, and a
// subquery in FROM cannot hold DDL or a data-modifying WITH.
std::string probe_sql(const std::string& select) {
    return "SELECT * FROM (" + select + ") AS tdc_probe LIMIT 0";
}

// The name a posted statement is prepared under, on its request's own connection.
constexpr const char* kPostedStatement = "tdc_posted";

// Parses and analyses `select` alone, without running it, so that PostgreSQL's error (with
// its LINE excerpt and caret) points into the user's own text. Parsing runs nothing: a
// statement other than a query is refused by probe_sql() afterwards. The connection closes
// with the request, which deallocates the statement.
void parse_alone(pqxx::connection_base& connection, const std::string& select) {
    connection.prepare(kPostedStatement, select);
    connection.prepare_now(kPostedStatement);
}

// `message` without PostgreSQL's excerpt of the statement (a "LINE n: ..." line and the
// caret line under it): for a statement the product wrapped around the user's, the excerpt
// would quote the wrapper.
std::string without_excerpt(const std::string& message) {
    std::istringstream lines(message);
    std::string out;
    std::string line;
    while (std::getline(lines, line)) {
        bool caret = line.find_first_not_of(' ') != std::string::npos &&
                     line.find_first_not_of(' ') == line.find('^') &&
                     line.find('^') + 1 == line.size();
        if (line.rfind("LINE ", 0) != 0 && !caret) {
            out += line + "\n";
        }
    }
    return out;
}

// The tables (and views) a view reads, by name.
const char* const kSourcesSql = R"sql(
SELECT DISTINCT c.relname
FROM pg_rewrite r
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
JOIN pg_class c ON c.oid = d.refobjid
WHERE r.ev_class = to_regclass(quote_ident($1)) AND c.oid <> r.ev_class
  AND c.relkind IN ('r', 'p', 'v', 'm')
ORDER BY 1
)sql";

const char* const kRegisterSql =
    "INSERT INTO tinydevcrm.views (name, source_table, sql) VALUES ($1, $2, $3)";

const char* const kListSql = R"sql(
SELECT name, source_table, sql,
       to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), last_seq
FROM tinydevcrm.views WHERE ($1 = '' OR name = $1) ORDER BY name
)sql";

const char* const kRefreshesSql = R"sql(
SELECT tick, to_char(started AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       duration_ms, row_count, error, merged_ticks
FROM tinydevcrm.refreshes WHERE view = $1 ORDER BY id DESC LIMIT $2
)sql";

const char* const kUnregisterSql = "DELETE FROM tinydevcrm.views WHERE name = $1 RETURNING 1";

std::string trimmed_end(std::string text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.pop_back();
    }
    return text;
}

std::string one_line(std::string text) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    while (!text.empty() && text.back() == ' ') {
        text.pop_back();
    }
    return text;
}

// Runs `work` on a new connection; 503 when the database cannot be reached.
Reply with_database(const ApiContext& api, const std::function<Reply(pqxx::connection&)>& work) {
    if (!api.config.database_url) {
        return error_reply(503, "database_unavailable", "no database URL is configured");
    }
    try {
        auto connection = open_connection(*api.config.database_url);
        return work(*connection);
    } catch (const pqxx::broken_connection& e) {
        api.log->warn("views request failed reason=\"database unreachable\"");
        return error_reply(503, "database_unavailable",
                           "the database cannot be reached: " + one_line(e.what()));
    }
}

nlohmann::json describe(const pqxx::row& row) {
    return {{"name", row[0].c_str()},
            {"source_table", row[1].c_str()},
            {"sql", row[2].c_str()},
            {"created", row[3].c_str()},
            {"events", row[4].as<long long>()}};
}

nlohmann::json refresh_json(const pqxx::row& row) {
    return {{"tick", row[0].as<long long>()},
            {"started", row[1].c_str()},
            {"duration_ms", row[2].as<double>()},
            {"rows",
             row[3].is_null() ? nlohmann::json(nullptr) : nlohmann::json(row[3].as<long long>())},
            {"error", row[4].is_null() ? nlohmann::json(nullptr) : row[4].c_str()},
            {"merged_ticks", row[5].as<int>()}};
}

Reply list_views(pqxx::connection& connection) {
    pqxx::read_transaction tx(connection);
    nlohmann::json views = nlohmann::json::array();
    for (const auto& row : tx.exec_params(kListSql, "")) {
        views.push_back(describe(row));
    }
    return {200, {{"views", std::move(views)}}};
}

Reply show_view(pqxx::connection& connection, const std::string& name) {
    pqxx::read_transaction tx(connection);
    auto rows = tx.exec_params(kListSql, name);
    if (name.empty() || rows.empty()) {
        return error_reply(404, "no_such_view", "no view is named \"" + name + "\"");
    }
    nlohmann::json out = describe(rows[0]);
    out["refreshes"] = nlohmann::json::array();
    for (const auto& row : tx.exec_params(kRefreshesSql, name, kShownRefreshes)) {
        out["refreshes"].push_back(refresh_json(row));
    }
    return {200, std::move(out)};
}

// 400 for a statement PostgreSQL refuses, 409 for a name already taken. `wrapped`: the error
// is about a statement the product wrapped around the user's, which parsed alone; a syntax
// error there means the user's statement is not a query.
Reply refused(const pqxx::sql_error& e, bool wrapped) {
    if (e.sqlstate() == "42P07") {
        return error_reply(409, "view_exists", one_line(e.what()));
    }
    if (!wrapped) {
        // Kept on its lines: PostgreSQL's caret points into the LINE above it.
        return error_reply(400, "bad_sql", trimmed_end(e.what()));
    }
    std::string detail = one_line(without_excerpt(e.what()));
    if (e.sqlstate() == "42601") {
        detail = "only one SELECT can become a view: " + detail;
    }
    return error_reply(400, "bad_sql", detail);
}

Reply make_view(pqxx::connection& connection, const std::string& name, const std::string& select,
                const ApiContext& api) {
    ensure_view_reader(connection);
    pqxx::work tx(connection);
    tx.exec(statement_timeout(api.config));
    std::string source;
    bool parsed = false;
    try {
        tx.exec(std::string("SET LOCAL ROLE ") + kViewReaderRole);
        parse_alone(connection, select);
        parsed = true;
        tx.exec_params(probe_sql(select));
        create_keyed_view(tx, name, select);
        tx.exec("RESET ROLE");
        auto sources = tx.exec_params(kSourcesSql, name);
        if (sources.empty()) {
            return error_reply(400, "bad_sql", "the SELECT reads no table");
        }
        source = sources[0][0].c_str();
        tx.exec_params(kRegisterSql, name, source, select);
        tx.commit();
    } catch (const pqxx::sql_error& e) {
        return refused(e, parsed);
    }
    api.log->info("view created view={} table={} via=api", name, source);
    return {201, {{"name", name}, {"source_table", source}, {"sql", select}}};
}

Reply post_view(const ApiContext& api, const std::string& body) {
    auto request = nlohmann::json::parse(body, nullptr, false);
    if (!request.is_object() || !request.contains("name") || !request["name"].is_string() ||
        !request.contains("sql") || !request["sql"].is_string()) {
        return error_reply(400, "bad_request", "send a JSON object {\"name\": ..., \"sql\": ...}");
    }
    std::string name = request["name"];
    std::string select = request["sql"];
    if (name.empty() || name.size() > kMaxNameBytes || name.find('\0') != std::string::npos) {
        return error_reply(400, "bad_name", "a view name is 1 to 63 bytes");
    }
    return with_database(api, [&](pqxx::connection& connection) {
        return make_view(connection, name, select, api);
    });
}

Reply delete_view(pqxx::connection& connection, const std::string& name, const ApiContext& api) {
    pqxx::work tx(connection);
    tx.exec(statement_timeout(api.config));
    if (tx.exec_params(kUnregisterSql, name).empty()) {
        return error_reply(404, "no_such_view", "no view is named \"" + name + "\"");
    }
    tx.exec("DROP MATERIALIZED VIEW IF EXISTS " + quote_identifier(name));
    tx.commit();
    api.log->info("view deleted view={} via=api", name);
    return {200, {{"deleted", name}}};
}

Reply unauthorized() {
    return error_reply(401, "unauthorized",
                       "this server requires Authorization: Bearer <token> to change views "
                       "(http.write_token)");
}

}  // namespace

void add_view_routes(Pistache::Rest::Router& router, ApiContext& api) {
    router.get("/views", [&api](const Request&, ResponseWriter response) {
        answer(response, *api.log, [&] { return with_database(api, list_views); });
        return Route::Result::Ok;
    });
    router.post("/views", [&api](const Request& request, ResponseWriter response) {
        answer(response, *api.log, [&] {
            if (!authorized(request, api.config.http.write_token)) {
                return unauthorized();
            }
            return post_view(api, request.body());
        });
        return Route::Result::Ok;
    });
    router.get("/views/:name", [&api](const Request& request, ResponseWriter response) {
        std::string name = request.param(":name").as<std::string>();
        answer(response, *api.log, [&] {
            return with_database(
                api, [&](pqxx::connection& connection) { return show_view(connection, name); });
        });
        return Route::Result::Ok;
    });
    router.del("/views/:name", [&api](const Request& request, ResponseWriter response) {
        std::string name = request.param(":name").as<std::string>();
        answer(response, *api.log, [&] {
            if (!authorized(request, api.config.http.write_token)) {
                return unauthorized();
            }
            return with_database(api, [&](pqxx::connection& connection) {
                return delete_view(connection, name, api);
            });
        });
        return Route::Result::Ok;
    });
}

}  // namespace tdc::http
