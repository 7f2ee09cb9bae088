// COPY ... FROM STDIN through libpq, in text or binary format, inside a libpqxx transaction.
// libpqxx 6.4 writes COPY only as text lines (tablewriter) and keeps its libpq handle private;
// its connection-policy hook is where a connection's handle is made, so LoadConnection keeps
// it there for CopyIn.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <libpq-fe.h>
#include <pqxx/pqxx>

namespace tdc {

// A libpqxx connection whose libpq handle the loader can reach.
class LoadConnection : public pqxx::connection_base {
public:
    // Connects to `options` (a libpq conninfo or URI); throws what libpqxx throws.
    explicit LoadConnection(const std::string& options);
    ~LoadConnection() noexcept;

    // The libpq connection, or nullptr while not connected. Valid until the next call into
    // this connection that may reconnect.
    PGconn* handle() const;

private:
    // pqxx::connect_direct that remembers each handle it makes, changes or closes.
    class Policy : public pqxx::connect_direct {
    public:
        using pqxx::connect_direct::connect_direct;
        handle do_startconnect(handle orig) override;
        handle do_completeconnect(handle orig) override;
        handle do_dropconnect(handle orig) noexcept override;
        handle do_disconnect(handle orig) noexcept override;
        handle current() const { return current_; }

    private:
        handle current_ = nullptr;
    };

    Policy policy_;
};

// One COPY into a table: opened at construction, fed, then finished or abandoned. The
// transaction it runs in must not be used until finish() or the destructor.
class CopyIn {
public:
    enum class Format { Text, Binary };

    // Starts COPY `table` (`columns`) FROM STDIN in `format`; writes the binary header.
    // `table` and `columns` are quoted identifiers. Throws std::runtime_error with
    // PostgreSQL's message.
    CopyIn(PGconn* connection, const std::string& table, const std::vector<std::string>& columns,
           Format format);
    ~CopyIn();
    CopyIn(const CopyIn&) = delete;
    CopyIn& operator=(const CopyIn&) = delete;

    // Sends `data` as it is: whole text lines, or whole binary tuples.
    void write(std::string_view data);

    // Ends the data; throws std::runtime_error with PostgreSQL's message when the server
    // refused a row.
    void finish();

private:
    void end(const char* error);

    PGconn* connection_;
    Format format_;
    bool open_ = true;
};

}  // namespace tdc
