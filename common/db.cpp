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

std::unique_ptr<pqxx::connection> connect_with_backoff(const std::string& url, StopSignal& stop,
                                                       spdlog::logger& log) {
    auto delay = std::chrono::milliseconds(100);
    const auto max_delay = std::chrono::milliseconds(5000);
    for (int attempt = 1;; ++attempt) {
        try {
            auto connection = std::make_unique<pqxx::connection>(url);
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
    connection_ = connect_with_backoff(url_, stop, log_);
    if (!connection_) {
        return false;
    }
    ensure_catalog(*connection_);
    return true;
}

void ensure_catalog(pqxx::connection& connection) {
    pqxx::work tx(connection);
    tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kCatalogLockKey) + ")");
    tx.exec(kCatalogDdl);
    tx.commit();
}

}  // namespace tdc
