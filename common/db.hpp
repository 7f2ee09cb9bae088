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

// `identifier` as a quoted SQL identifier: wrapped in double quotes, inner quotes doubled.
// Every table, column and view name reaches SQL only through this.
std::string quote_identifier(std::string_view identifier);

// `url` with any password replaced by "***", fit for logs and error messages.
std::string redact_url(const std::string& url);

// Creates the catalog schema and tables when missing. Safe to call from every stage at once:
// the work runs under a transaction-scoped advisory lock.
void ensure_catalog(pqxx::connection& connection);

}  // namespace tdc
