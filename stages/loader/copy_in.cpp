#include "stages/loader/copy_in.hpp"

#include <stdexcept>

namespace tdc {

namespace {

// The signature, flags and header extension that open binary COPY data, and the field count
// -1 that ends it.
constexpr std::string_view kBinaryHeader{"PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19};
constexpr std::string_view kBinaryTrailer{"\377\377", 2};

std::string error_of(PGconn* connection) {
    std::string message = PQerrorMessage(connection);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
        message.pop_back();
    }
    return message;
}

}  // namespace

LoadConnection::LoadConnection(const std::string& options)
    : pqxx::connection_base(policy_), policy_(options) {
    init();
}

LoadConnection::~LoadConnection() noexcept {
    close();
}

PGconn* LoadConnection::handle() const {
    return policy_.current();
}

LoadConnection::Policy::handle LoadConnection::Policy::do_startconnect(handle orig) {
    return current_ = connect_direct::do_startconnect(orig);
}

LoadConnection::Policy::handle LoadConnection::Policy::do_completeconnect(handle orig) {
    return current_ = connect_direct::do_completeconnect(orig);
}

LoadConnection::Policy::handle LoadConnection::Policy::do_dropconnect(handle orig) noexcept {
    return current_ = connect_direct::do_dropconnect(orig);
}

LoadConnection::Policy::handle LoadConnection::Policy::do_disconnect(handle orig) noexcept {
    return current_ = connect_direct::do_disconnect(orig);
}

CopyIn::CopyIn(PGconn* connection, const std::string& table,
               const std::vector<std::string>& columns, Format format)
    : connection_(connection), format_(format) {
    std::string sql = "COPY " + table + " (";
    for (std::size_t i = 0; i < columns.size(); ++i) {
        sql += (i ? ", " : "") + columns[i];
    }
    sql += format == Format::Binary ? ") FROM STDIN (FORMAT binary)" : ") FROM STDIN";
    PGresult* result = PQexec(connection_, sql.c_str());
    const bool copying = PQresultStatus(result) == PGRES_COPY_IN;
    const std::string message = PQresultErrorMessage(result);
    PQclear(result);
    if (!copying) {
        open_ = false;
        throw std::runtime_error(message.empty() ? error_of(connection_) : message);
    }
    if (format_ == Format::Binary) {
        write(kBinaryHeader);
    }
}

CopyIn::~CopyIn() {
    if (open_) {
        end("the upload was abandoned");
    }
}

void CopyIn::write(std::string_view data) {
    if (!data.empty() &&
        PQputCopyData(connection_, data.data(), static_cast<int>(data.size())) != 1) {
        throw std::runtime_error("COPY failed: " + error_of(connection_));
    }
}

void CopyIn::finish() {
    if (format_ == Format::Binary) {
        write(kBinaryTrailer);
    }
    end(nullptr);
}

// Ends the COPY, with `error` abandoning it, and reads its results so that the connection can
// take the next statement. Throws PostgreSQL's message when it refused the data, unless
// abandoning.
void CopyIn::end(const char* error) {
    open_ = false;
    std::string message;
    if (PQputCopyEnd(connection_, error) != 1) {
        message = error_of(connection_);
    }
    while (PGresult* result = PQgetResult(connection_)) {
        if (PQresultStatus(result) != PGRES_COMMAND_OK && message.empty()) {
            message = PQresultErrorMessage(result);
        }
        PQclear(result);
    }
    if (error == nullptr && !message.empty()) {
        while (!message.empty() && message.back() == '\n') {
            message.pop_back();
        }
        throw std::runtime_error(message);
    }
}

}  // namespace tdc
