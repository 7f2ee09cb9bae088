#include "common/db.hpp"

#include <algorithm>
#include <regex>

namespace tdc {

namespace {

// pg_advisory_xact_lock key that serializes catalog creation across processes.
constexpr long long kCatalogLockKey = 0x7464636d;  // "tdcm"

const char* const kCatalogDdl = R"sql(
CREATE SCHEMA IF NOT EXISTS tinydevcrm;
CREATE TABLE IF NOT EXISTS tinydevcrm.views (
    name         text PRIMARY KEY,
    source_table text NOT NULL,
    sql          text NOT NULL,
    created      timestamptz NOT NULL DEFAULT now(),
    last_seq     bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tinydevcrm.refreshes (
    id           bigserial PRIMARY KEY,
    view         text NOT NULL REFERENCES tinydevcrm.views (name) ON DELETE CASCADE,
    tick         bigint NOT NULL,
    started      timestamptz NOT NULL,
    duration_ms  double precision NOT NULL,
    row_count    bigint,
    error        text,
    merged_ticks integer NOT NULL DEFAULT 0,
    committed    timestamptz
);
-- When the refresh's COMMIT returned, by the view stage's clock; NULL for a failed refresh.
-- Added to catalogs made before it existed.
ALTER TABLE tinydevcrm.refreshes ADD COLUMN IF NOT EXISTS committed timestamptz;
CREATE INDEX IF NOT EXISTS refreshes_view_id ON tinydevcrm.refreshes (view, id);
-- What the loader records of every table: the header text as written in the file (one JSON
-- string per column), when the table with its current columns was created, when last loaded.
CREATE TABLE IF NOT EXISTS tinydevcrm.tables (
    name    text PRIMARY KEY,
    headers jsonb NOT NULL,
    created timestamptz NOT NULL DEFAULT now(),
    loaded  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS tinydevcrm.events (
    view    text NOT NULL REFERENCES tinydevcrm.views (name) ON DELETE CASCADE,
    seq     bigint NOT NULL,
    as_of   timestamptz NOT NULL,
    payload bytea NOT NULL,
    PRIMARY KEY (view, seq)
);
)sql";

// pg_advisory_xact_lock key that serializes making the view reader role across processes.
constexpr long long kViewReaderLockKey = 0x74646372;  // "tdcr"

// Grants only what is missing: GRANT ... ON ALL TABLES rewrites the catalog row of every table,
// which fails with "tuple concurrently updated" beside a load replacing one of them, so it
// runs once per database and later tables get SELECT through the default privileges.
const char* const kViewReaderSql = R"sql(
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tinydevcrm_view_reader') THEN
        CREATE ROLE tinydevcrm_view_reader NOLOGIN;
    END IF;
    IF NOT pg_has_role(current_user, 'tinydevcrm_view_reader', 'MEMBER') THEN
        EXECUTE 'GRANT tinydevcrm_view_reader TO ' || quote_ident(current_user);
    END IF;
    IF NOT has_schema_privilege('tinydevcrm_view_reader', 'public', 'CREATE') THEN
        GRANT USAGE, CREATE ON SCHEMA public TO tinydevcrm_view_reader;
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO tinydevcrm_view_reader;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES
            TO tinydevcrm_view_reader;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- made meanwhile from another database of the cluster: the lock is per database
END
$$;
)sql";

const char* const kMatviewExistsSql =
    "SELECT 1 FROM pg_matviews WHERE schemaname = current_schema() AND matviewname = $1";

const char* const kRegisterViewSql = R"sql(
INSERT INTO tinydevcrm.views (name, source_table, sql) VALUES ($1, $2, $3)
ON CONFLICT (name) DO NOTHING
)sql";

}  // namespace

std::string quote_identifier(std::string_view identifier) {
    std::string out = "\"";
    for (char c : identifier) {
        out += c;
        if (c == '"') {
            out += '"';
        }
    }
    return out + "\"";
}

std::string redact_url(const std::string& url) {
    static const std::regex kUriPassword(R"(^([a-z]+://[^:/@]*):[^@]*@)");
    static const std::regex kKeywordPassword(R"((password\s*=\s*)('[^']*'|\S+))");
    std::string out = std::regex_replace(url, kUriPassword, "$1:***@");
    return std::regex_replace(out, kKeywordPassword, "$1***");
}

void resolve_names_in_public(pqxx::connection_base& connection) {
    connection.set_variable("search_path", "public");
}

std::unique_ptr<pqxx::connection> open_connection(const std::string& url) {
    auto connection = std::make_unique<pqxx::connection>(url);
    resolve_names_in_public(*connection);
    return connection;
}

std::unique_ptr<pqxx::connection_base> connect_with_backoff(const std::string& url,
                                                            StopSignal& stop, spdlog::logger& log,
                                                            const Connector& connect) {
    auto delay = std::chrono::milliseconds(100);
    const auto max_delay = std::chrono::milliseconds(5000);
    for (int attempt = 1;; ++attempt) {
        try {
            std::unique_ptr<pqxx::connection_base> connection =
                connect ? connect(url) : std::make_unique<pqxx::connection>(url);
            resolve_names_in_public(*connection);
            log.info("db connected url={} attempts={}", redact_url(url), attempt);
            return connection;
        } catch (const std::exception& e) {
            std::string reason = e.what();
            reason.erase(std::remove(reason.begin(), reason.end(), '\n'), reason.end());
            log.warn("db connect failed url={} attempt={} retry_in_ms={} reason=\"{}\"",
                     redact_url(url), attempt, delay.count(), reason);
        }
        if (stop.wait_for(delay)) {
            return nullptr;
        }
        delay = std::min(delay * 2, max_delay);
    }
}

bool StageConnection::ensure(StopSignal& stop) {
    if (open()) {
        return true;
    }
    connection_ = connect_with_backoff(url_, stop, log_, connect_);
    if (!connection_) {
        return false;
    }
    ensure_catalog(*connection_);
    return true;
}

std::string keyed_select(const std::string& select) {
    return std::string("SELECT row_number() OVER () AS ") + kRowKeyColumn + ", tdc_q.* FROM (" +
           select + ") AS tdc_q";
}

void create_keyed_view(pqxx::work& tx, const std::string& name, const std::string& select,
                       ViewRows rows) {
    tx.exec_params("CREATE MATERIALIZED VIEW " + quote_identifier(name) + " AS " +
                   keyed_select(select) +
                   (rows == ViewRows::AtFirstRefresh ? " WITH NO DATA" : ""));
    tx.exec("CREATE UNIQUE INDEX ON " + quote_identifier(name) + " (" + kRowKeyColumn + ")");
}

void ensure_view_reader(pqxx::connection_base& connection) {
    pqxx::work tx(connection);
    tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kViewReaderLockKey) + ")");
    tx.exec(kViewReaderSql);
    tx.commit();
}

bool create_view(pqxx::work& tx, const std::string& name, const std::string& source_table,
                 const std::string& select, bool as_reader, ViewRows rows) {
    bool exists = !tx.exec_params(kMatviewExistsSql, name).empty();
    if (!exists && as_reader) {
        tx.exec(std::string("SET LOCAL ROLE ") + kViewReaderRole);
        create_keyed_view(tx, name, select, rows);
        tx.exec("RESET ROLE");
    } else if (!exists) {
        create_keyed_view(tx, name, select, rows);
    }
    tx.exec_params(kRegisterViewSql, name, source_table, select);
    return !exists;
}

void rebuild_view(pqxx::work& tx, const std::string& name, const std::string& select) {
    tx.exec("DROP MATERIALIZED VIEW IF EXISTS " + quote_identifier(name));
    create_keyed_view(tx, name, select);
}

void ensure_catalog(pqxx::connection_base& connection) {
    pqxx::work tx(connection);
    tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kCatalogLockKey) + ")");
    tx.exec(kCatalogDdl);
    tx.commit();
}

}  // namespace tdc
