// PostgreSQL access shared by the stages: connecting with backoff and the product's catalog.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>
#include <pqxx/pqxx>

#include "common/stop.hpp"

namespace tdc {

// The schema that holds tinydevcrm's own state, apart from user tables.
inline constexpr const char* kCatalogSchema = "tinydevcrm";

// Opens a connection to `url`, throwing what libpqxx throws; a stage that needs a connection
// of its own class (the loader reaches libpq through one) passes its own.
using Connector = std::function<std::unique_ptr<pqxx::connection_base>(const std::string& url)>;

// Makes unqualified names on `connection` resolve in schema public (after pg_catalog, which
// PostgreSQL always searches first). The default search_path ("$user", public) would resolve
// them in a schema named like the role first: for a role named tinydevcrm, in the catalog's
// own schema. Every connection of the stages and the HTTP front goes through this.
void resolve_names_in_public(pqxx::connection_base& connection);

// Connects to `url` with names resolving in public (resolve_names_in_public()).
std::unique_ptr<pqxx::connection> open_connection(const std::string& url);

// Connects to `url` with `connect` (open_connection() when empty), names resolving in public,
// retrying with exponential backoff (100 ms doubling to 5 s) and logging each failure at warn.
// Returns nullptr only when `stop` was requested while waiting.
std::unique_ptr<pqxx::connection_base> connect_with_backoff(const std::string& url,
                                                            StopSignal& stop, spdlog::logger& log,
                                                            const Connector& connect = {});

// A stage's database connection: opened with backoff when missing or lost, with the catalog
// ensured on every new connection.
class StageConnection {
public:
    StageConnection(std::string url, spdlog::logger& log, Connector connect = {})
        : url_(std::move(url)), log_(log), connect_(std::move(connect)) {}

    // Makes sure a connection is open, waiting with backoff for the database when needed.
    // Returns false only when `stop` was requested while waiting.
    bool ensure(StopSignal& stop);

    // True when a connection is open.
    bool open() const { return connection_ && connection_->is_open(); }

    // Forgets a broken connection; the next ensure() reconnects.
    void drop() { connection_.reset(); }

    // REQUIRES: open().
    pqxx::connection_base& operator*() { return *connection_; }

private:
    std::string url_;
    spdlog::logger& log_;
    Connector connect_;
    std::unique_ptr<pqxx::connection_base> connection_;
};

// `identifier` as a quoted SQL identifier: wrapped in double quotes, inner quotes doubled.
// Every table, column and view name reaches SQL only through this.
std::string quote_identifier(std::string_view identifier);

// `url` with any password replaced by "***", fit for logs and error messages.
std::string redact_url(const std::string& url);

// The first column of every view: a row number that makes each row unique, so the unique
// index REFRESH ... CONCURRENTLY needs exists even when the SELECT yields duplicate rows.
// Events leave it out. A SELECT with a column of this name cannot become a view.
inline constexpr const char* kRowKeyColumn = "tdc_row";

// `select` wrapped so that its rows come with the row key column in front.
std::string keyed_select(const std::string& select);

// When a new view gets its rows: as it is made (so a SELECT that fails on the data fails
// here), or at its first refresh (so making it costs no scan of its tables; until then a read
// of it fails with "has not been populated").
enum class ViewRows { AtCreate, AtFirstRefresh };

// Creates materialized view `name` over `select` with its row key and the unique index on it,
// without touching the catalog. `select` goes to the server as one statement (the extended
// protocol refuses a second one).
void create_keyed_view(pqxx::work& tx, const std::string& name, const std::string& select,
                       ViewRows rows = ViewRows::AtCreate);

// The role that owns views and so runs their SQL, when made and at every refresh: it may read
// the tables in schema public and nothing else (no catalog, no writes).
inline constexpr const char* kViewReaderRole = "tinydevcrm_view_reader";

// Makes kViewReaderRole when missing, lets it read every table now in public, and makes the
// connecting role its member, so stages may refresh and drop the views it owns. Needs a role
// allowed to create roles; throws PostgreSQL's error otherwise.
void ensure_view_reader(pqxx::connection_base& connection);

// Creates materialized view `name` (in the current schema) over `select` with its row key and
// the unique index on it, owned by kViewReaderRole when `as_reader` (REQUIRES:
// ensure_view_reader() ran since the tables it reads were made), and registers it in the
// catalog. Returns false, changing nothing but a missing catalog row, when the view exists
// already. Throws PostgreSQL's error (a bad SELECT, a name taken by a table) as a pqxx
// exception.
bool create_view(pqxx::work& tx, const std::string& name, const std::string& source_table,
                 const std::string& select, bool as_reader, ViewRows rows = ViewRows::AtCreate);

// Drops view `name` and makes it again over `select` with its row key and index, filled: the
// repair for a view that lacks them (made by an older version, or by plain CREATE).
void rebuild_view(pqxx::work& tx, const std::string& name, const std::string& select);

// Creates the catalog schema and tables when missing. Safe to call from every stage at once:
// the work runs under a transaction-scoped advisory lock.
void ensure_catalog(pqxx::connection_base& connection);

}  // namespace tdc
