// PostgreSQL access shared by the stages: connecting with backoff and the product's catalog.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>
#include <pqxx/pqxx>

#include "common/stop.hpp"

namespace tdc {

// The schema that holds tinydevcrm's own state, apart from user tables.
inline constexpr const char* kCatalogSchema = "tinydevcrm";

// Connects to `url`, retrying with exponential backoff (100 ms doubling to 5 s) and logging
// each failure at warn. Returns nullptr only when `stop` was requested while waiting.
std::unique_ptr<pqxx::connection> connect_with_backoff(const std::string& url, StopSignal& stop,
                                                       spdlog::logger& log);

// A stage's database connection: opened with backoff when missing or lost, with the catalog
// ensured on every new connection.
class StageConnection {
public:
    StageConnection(std::string url, spdlog::logger& log) : url_(std::move(url)), log_(log) {}

    // Makes sure a connection is open, waiting with backoff for the database when needed.
    // Returns false only when `stop` was requested while waiting.
    bool ensure(StopSignal& stop);

    // True when a connection is open.
    bool open() const { return connection_ && connection_->is_open(); }

    // Forgets a broken connection; the next ensure() reconnects.
    void drop() { connection_.reset(); }

    // REQUIRES: open().
    pqxx::connection& operator*() { return *connection_; }

private:
    std::string url_;
    spdlog::logger& log_;
    std::unique_ptr<pqxx::connection> connection_;
};

// `identifier` as a quoted SQL identifier: wrapped in double quotes, inner quotes doubled.
// Every table, column and view name reaches SQL only through this.
std::string quote_identifier(std::string_view identifier);

// `url` with any password replaced by "***", fit for logs and error messages.
std::string redact_url(const std::string& url);

// Creates the catalog schema and tables when missing. Safe to call from every stage at once:
// the work runs under a transaction-scoped advisory lock.
void ensure_catalog(pqxx::connection& connection);

}  // namespace tdc
