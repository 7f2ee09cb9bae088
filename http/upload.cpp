#include "http/upload.hpp"

#include <limits>
#include <stdexcept>

#include "common/bus.hpp"
#include "common/wire.hpp"
#include "csv/copy_binary.hpp"
#include "csv/copy_text.hpp"
#include "http/spool.hpp"

namespace tdc::http {

namespace {

Reply rejection_reply(const csv::Rejection& rejection) {
    Reply reply = error_reply(rejection.status, rejection.error, rejection.detail);
    nlohmann::json lines = nlohmann::json::array();
    for (const auto& line : rejection.lines) {
        lines.push_back({{"line", line.line}, {"found", line.found}, {"expected", line.expected}});
    }
    reply.body["lines"] = std::move(lines);
    return reply;
}

// Reads everything: what an Analyzer reads at once to the end.
constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();

bool known_mode(const std::string& mode) {
    return mode == "create" || mode == "replace" || mode == "append";
}

std::string delimiter_name(char delimiter) {
    return delimiter == '\t' ? "\\t" : std::string(1, delimiter);
}

}  // namespace

// One upload's conversation with a loader: begin, batches within the window, end.
class Uploader::Session {
public:
    Session(const Config& config, zmq::context_t& context)
        : bus_(context, config.endpoints.bus),
          id_(new_session_id()),
          timeout_(config.http.upload_timeout_ms) {}

    // Sends the session's first message and waits for the loader to accept it. Returns the
    // loader's LoadResult when it refused instead.
    std::optional<wire::LoadResult> open(const wire::LoadBegin& begin) {
        bus_.send(wire::kLoaderService, id_, wire::encode(begin));
        ++in_flight_;
        return await();
    }

    // Sends `message`, then waits while more than kWindow messages are unacknowledged.
    // Returns the loader's final LoadResult when the session ended instead.
    template <class Message>
    std::optional<wire::LoadResult> send(const Message& message) {
        bus_.send(wire::kLoaderService, id_, wire::encode(message));
        ++in_flight_;
        while (in_flight_ > kWindow) {
            if (auto done = await()) {
                return done;
            }
        }
        return std::nullopt;
    }

    // Waits for everything sent to be acknowledged, then for the final result.
    wire::LoadResult finish() {
        while (true) {
            if (auto done = await()) {
                return *done;
            }
        }
    }

    void abort(const std::string& reason) {
        wire::LoadAbort message;
        message.reason = reason;
        bus_.send(wire::kLoaderService, id_, wire::encode(message));
    }

    // Ends a session the loader has not ended: it rolls back. Waits for its last answer, so
    // that the loader is free for what comes next.
    void cancel(const std::string& reason) {
        abort(reason);
        finish();
    }

private:
    // Reads one reply: an ack lowers the count in flight; anything else ends the session.
    std::optional<wire::LoadResult> await() {
        auto reply = bus_.receive(timeout_);
        if (!reply) {
            abort("the uploader timed out waiting for the loader");
            return failure(503, "loader_timeout",
                           "no loader answered within " + std::to_string(timeout_.count()) + " ms");
        }
        std::string kind = wire::peek_kind(reply->body);
        if (kind == wire::LoadAck::kKind) {
            --in_flight_;
            return std::nullopt;
        }
        if (kind == wire::Unavailable::kKind) {
            auto unavailable = wire::decode<wire::Unavailable>(reply->body);
            return failure(503, "loader_unavailable", unavailable.reason);
        }
        return wire::decode<wire::LoadResult>(reply->body);
    }

    static wire::LoadResult failure(int status, const std::string& error,
                                    const std::string& detail) {
        wire::LoadResult result;
        result.status = status;
        result.error = error;
        result.detail = detail;
        return result;
    }

    BusClient bus_;
    std::string id_;
    std::chrono::milliseconds timeout_;
    int in_flight_ = 0;
};

// Collects rows into LoadBatch messages in the session's format (binary COPY, or COPY text)
// and sends them.
class Uploader::RowFeed {
public:
    // REQUIRES: `plan` outlives the feed.
    RowFeed(const csv::Plan& plan, bool binary) : columns_(plan.columns), binary_(binary) {}

    // Adds a row, as RowReader gives it, to the batch being made. Returns false, adding
    // nothing, when a value is not of its column's type, which only rows read after the types
    // were decided can do.
    bool add(const std::vector<std::optional<std::string>>& values) {
        if (binary_) {
            if (!csv::append_binary_row(batch_.copy_binary, values, columns_)) {
                return false;
            }
        } else {
            csv::append_copy_line(batch_.copy_text, values);
        }
        ++batch_.rows;
        return true;
    }

    // add() for rows whose types are known to fit.
    void add_fitting(const std::vector<std::optional<std::string>>& values) {
        if (!add(values)) {
            throw std::logic_error("a row does not fit the types its file was analyzed into");
        }
    }

    // Rows in the batch being made.
    std::size_t pending() const { return batch_.rows; }

    // Sends the batch being made, when it has rows. Returns the loader's final result when the
    // session ended instead.
    std::optional<wire::LoadResult> send(Session& session) {
        if (batch_.rows == 0) {
            return std::nullopt;
        }
        ++batch_.seq;
        sent_ += batch_.rows;
        auto done = session.send(batch_);
        drop();
        return done;
    }

    // Forgets the batch being made.
    void drop() {
        batch_.rows = 0;
        batch_.copy_text.clear();
        batch_.copy_binary.clear();
    }

    // Sends the batch being made and the end of the rows; returns the loader's result.
    wire::LoadResult end(Session& session) {
        if (auto done = send(session)) {
            return *done;
        }
        wire::LoadEnd end;
        end.batches = batch_.seq;
        end.rows = sent_;
        if (auto done = session.send(end)) {
            return *done;
        }
        return session.finish();
    }

private:
    const std::vector<csv::Column>& columns_;
    bool binary_;
    wire::LoadBatch batch_;
    std::uint64_t sent_ = 0;
};

Uploader::Uploader(const Config& config, zmq::context_t& context,
                   std::shared_ptr<spdlog::logger> log)
    : config_(config), context_(context), log_(std::move(log)) {}

Reply Uploader::upload(Spool& spool, const csv::ByteCheck& checked,
                       const UploadParams& params) const {
    if (!known_mode(params.mode)) {
        return error_reply(400, "bad_mode",
                           "mode '" + params.mode + "' is not one of create, replace, append");
    }
    const std::string_view raw = spool.map();
    log_->info("upload received bytes={} clean_utf8={}", raw.size(), checked.clean_utf8());
    auto decoded = csv::decode_in_place(raw, params.options, checked);
    if (auto* rejection = std::get_if<csv::Rejection>(&decoded)) {
        return rejection_reply(*rejection);
    }
    const auto& document = std::get<csv::Document>(decoded);
    const bool in_spool = document.owned == nullptr;
    if (!in_spool) {
        spool.release_before(raw.size());  // the text was converted into memory of its own
    }
    const std::size_t skipped =
        in_spool ? static_cast<std::size_t>(document.text.data() - raw.data()) : 0;
    return load(document, params, [&spool, in_spool, skipped](std::size_t offset) {
        if (in_spool) {
            spool.release_before(skipped + offset);
        }
    });
}

// Reads the file a batch at a time. The first batch's types are a guess: the loader starts
// under them at once, and each batch goes to it as soon as the rows read so far still have
// those types, so the database loads while the rest is read. When a later row changes a type,
// nothing more is sent; once all rows are read the loader rolls back and load_plan() sends the
// file again with the types of every row.
Reply Uploader::load(const csv::Document& document, const UploadParams& params,
                     const Release& release) const {
    const std::size_t batch_rows = config_.http.batch_rows;
    csv::Analyzer analyzer(document, params.options);
    analyzer.read(batch_rows);
    const auto first = analyzer.plan();
    const auto* guess = std::get_if<csv::Plan>(&first);
    if (guess == nullptr) {
        while (analyzer.read(batch_rows)) {
            release(analyzer.offset());
        }
        return rejection_reply(std::get<csv::Rejection>(analyzer.plan()));
    }

    const wire::LoadBegin begin = load_begin(params, *guess);
    Session session(config_, context_);
    std::optional<wire::LoadResult> done = session.open(begin);
    RowFeed feed(*guess, begin.format == "binary");
    std::vector<std::optional<std::string>> values;
    csv::RowReader first_rows(document, *guess);  // read before their types were known
    while (feed.pending() < analyzer.rows() && first_rows.next(values)) {
        feed.add_fitting(values);
    }
    // Later batches are converted as the analyzer reads them, and sent if their types held.
    bool holds = true;
    const std::function<void(const csv::RecordReader&)> convert =
        [&](const csv::RecordReader& record) {
            csv::record_values(record, guess->columns, values);
            holds = holds && feed.add(values);
        };
    const std::function<void(const csv::RecordReader&)> skip;
    do {
        if (holds && !done) {
            done = feed.send(session);
        }
        feed.drop();
        release(analyzer.offset());
        if (!analyzer.read(batch_rows, holds && !done ? convert : skip)) {
            break;
        }
        const auto plan = analyzer.plan();
        holds = holds && std::holds_alternative<csv::Plan>(plan) &&
                csv::same_columns(std::get<csv::Plan>(plan), *guess);
    } while (true);

    const auto final = analyzer.plan();
    if (const auto* rejection = std::get_if<csv::Rejection>(&final)) {
        if (!done) {
            session.cancel("the file is refused");
        }
        return rejection_reply(*rejection);
    }
    if (holds) {
        return result_reply(done ? *done : feed.end(session), begin, document);
    }
    if (!done) {
        session.cancel("the types of the first rows do not hold for the whole file");
    } else if (done->status == 503) {
        return error_reply(done->status, done->error, done->detail);
    }
    log_->info("upload types changed table={} first_rows={} rows={}", begin.table,
               std::min(batch_rows, analyzer.rows()), analyzer.rows());
    return load_plan(document, params, std::get<csv::Plan>(final), release);
}

// Sends every row under `plan`, the types of the whole file.
Reply Uploader::load_plan(const csv::Document& document, const UploadParams& params,
                          const csv::Plan& plan, const Release& release) const {
    const wire::LoadBegin begin = load_begin(params, plan);
    Session session(config_, context_);
    std::optional<wire::LoadResult> done = session.open(begin);
    RowFeed feed(plan, begin.format == "binary");
    csv::RowReader reader(document, plan);
    std::vector<std::optional<std::string>> values;
    while (!done && reader.next(values)) {
        feed.add_fitting(values);
        if (feed.pending() >= config_.http.batch_rows) {
            done = feed.send(session);
            release(reader.offset());
        }
    }
    return result_reply(done ? *done : feed.end(session), begin, document);
}

wire::LoadBegin Uploader::load_begin(const UploadParams& params, const csv::Plan& plan) const {
    wire::LoadBegin begin;
    begin.table = params.table.empty() ? csv::table_name(params.file_name, true)
                                       : csv::table_name(params.table, false);
    begin.mode = params.mode;
    begin.format = csv::binary_copy_fits(plan.columns, params.options) ? "binary" : "text";
    for (const auto& column : plan.columns) {
        begin.columns.push_back({column.name, std::string(csv::sql_name(column.type))});
        begin.headers.push_back(column.header);
    }
    return begin;
}

Reply Uploader::result_reply(const wire::LoadResult& result, const wire::LoadBegin& begin,
                             const csv::Document& document) const {
    if (!result.ok) {
        log_->info("upload refused table={} status={} error={}", begin.table, result.status,
                   result.error);
        Reply reply = error_reply(result.status, result.error, result.detail);
        reply.body["lines"] = nlohmann::json::array();  // the loader names no line of the file
        return reply;
    }
    nlohmann::json columns = nlohmann::json::array();
    for (const auto& column : begin.columns) {
        columns.push_back({{"name", column.name}, {"type", column.type}});
    }
    nlohmann::json views = nlohmann::json::array();
    for (const auto& view : result.views) {
        views.push_back({{"name", view.name}, {"created", view.created}, {"reason", view.reason}});
    }
    log_->info("upload committed table={} mode={} rows={} encoding={}", result.table, begin.mode,
               result.rows, document.encoding);
    return {201,
            {{"table", result.table},
             {"mode", begin.mode},
             {"columns", std::move(columns)},
             {"rows", result.rows},
             {"views", std::move(views)},
             {"encoding", document.encoding},
             {"delimiter", delimiter_name(document.delimiter)}}};
}

}  // namespace tdc::http
