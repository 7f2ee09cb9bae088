// Reading back what uploads made: GET /tables and GET /tables/{name}. Only tables the loader
// recorded in tinydevcrm.tables are listed. Each request opens its own read-only connection.
#include <pqxx/pqxx>

#include "common/db.hpp"
#include "http/api.hpp"

namespace tdc::http {

namespace {

using Pistache::Http::ResponseWriter;
using Pistache::Rest::Request;
using Pistache::Rest::Route;

// How many rows GET /tables/{name} shows.
constexpr int kFirstRows = 20;

// True when the loader has made the catalog table yet.
const char* const kCatalogExistsSql = "SELECT to_regclass('tinydevcrm.tables') IS NOT NULL";

// Catalog entries whose table still exists (all of them for an empty $1), with times in
// RFC 3339 UTC.
const char* const kCatalogSql = R"sql(
SELECT name, headers::text,
       to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       to_char(loaded AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
FROM tinydevcrm.tables
WHERE ($1 = '' OR name = $1) AND to_regclass(quote_ident(name)) IS NOT NULL
ORDER BY name
)sql";

const char* const kColumnsSql = R"sql(
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
WHERE a.attrelid = to_regclass(quote_ident($1)) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
)sql";

const char* const kViewsSql =
    "SELECT name FROM tinydevcrm.views WHERE source_table = $1 ORDER BY name";

nlohmann::json text_or_null(const pqxx::field& field) {
    return field.is_null() ? nlohmann::json(nullptr) : nlohmann::json(field.c_str());
}

// A table's summary: name, columns with types, row count and times. With `detail`, also each
// column's header text, the table's views and its first kFirstRows rows.
nlohmann::json describe(pqxx::read_transaction& tx, const pqxx::row& entry, bool detail) {
    std::string name = entry[0].c_str();
    std::string table = quote_identifier(name);
    auto headers = nlohmann::json::parse(entry[1].c_str(), nullptr, false);
    nlohmann::json columns = nlohmann::json::array();
    for (const auto& row : tx.exec_params(kColumnsSql, name)) {
        nlohmann::json column = {{"name", row[0].c_str()}, {"type", row[1].c_str()}};
        if (detail && headers.is_array() && columns.size() < headers.size()) {
            column["header"] = headers[columns.size()];
        }
        columns.push_back(std::move(column));
    }
    nlohmann::json out = {{"name", name},
                          {"columns", std::move(columns)},
                          {"rows", tx.exec("SELECT count(*) FROM " + table)[0][0].as<long long>()},
                          {"created", entry[2].c_str()},
                          {"loaded", entry[3].c_str()}};
    if (!detail) {
        return out;
    }
    out["headers"] = headers;
    out["views"] = nlohmann::json::array();
    for (const auto& row : tx.exec_params(kViewsSql, name)) {
        out["views"].push_back(row[0].c_str());
    }
    out["first_rows"] = nlohmann::json::array();
    for (const auto& row :
         tx.exec("SELECT * FROM " + table + " LIMIT " + std::to_string(kFirstRows))) {
        nlohmann::json values = nlohmann::json::array();
        for (const auto& field : row) {
            values.push_back(text_or_null(field));
        }
        out["first_rows"].push_back(std::move(values));
    }
    return out;
}

// Runs `read` in a read-only transaction on a new connection; 503 when the database cannot
// be reached.
Reply with_database(const ApiContext& api,
                    const std::function<Reply(pqxx::read_transaction&)>& read) {
    if (!api.config.database_url) {
        return error_reply(503, "database_unavailable", "no database URL is configured");
    }
    try {
        auto connection = open_connection(*api.config.database_url);
        pqxx::read_transaction tx(*connection, "tables_api");
        return read(tx);
    } catch (const pqxx::broken_connection& e) {
        api.log->warn("tables request failed reason=\"database unreachable\"");
        return error_reply(503, "database_unavailable",
                           "the database cannot be reached: " + std::string(e.what()));
    }
}

Reply list_tables(pqxx::read_transaction& tx) {
    nlohmann::json tables = nlohmann::json::array();
    if (tx.exec(kCatalogExistsSql)[0][0].as<bool>()) {
        for (const auto& entry : tx.exec_params(kCatalogSql, "")) {
            tables.push_back(describe(tx, entry, false));
        }
    }
    return {200, {{"tables", std::move(tables)}}};
}

Reply show_table(pqxx::read_transaction& tx, const std::string& name) {
    if (tx.exec(kCatalogExistsSql)[0][0].as<bool>()) {
        auto entries = tx.exec_params(kCatalogSql, name);
        if (!entries.empty()) {
            return {200, describe(tx, entries[0], true)};
        }
    }
    return error_reply(404, "no_such_table", "no uploaded table is named \"" + name + "\"");
}

}  // namespace

void add_table_routes(Pistache::Rest::Router& router, ApiContext& api) {
    router.get("/tables", [&api](const Request&, ResponseWriter response) {
        answer(response, *api.log, [&] { return with_database(api, list_tables); });
        return Route::Result::Ok;
    });
    router.get("/tables/:name", [&api](const Request& request, ResponseWriter response) {
        std::string name = request.param(":name").as<std::string>();
        answer(response, *api.log, [&] {
            return with_database(api,
                                 [&](pqxx::read_transaction& tx) { return show_table(tx, name); });
        });
        return Route::Result::Ok;
    });
}

}  // namespace tdc::http
