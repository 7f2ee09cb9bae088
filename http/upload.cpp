#include "http/upload.hpp"

#include "common/bus.hpp"
#include "common/wire.hpp"
#include "csv/copy_text.hpp"

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

Uploader::Uploader(const Config& config, zmq::context_t& context,
                   std::shared_ptr<spdlog::logger> log)
    : config_(config), context_(context), log_(std::move(log)) {}

Reply Uploader::upload(std::string_view raw, const UploadParams& params) {
    if (!known_mode(params.mode)) {
        return error_reply(400, "bad_mode",
                           "mode '" + params.mode + "' is not one of create, replace, append");
    }
    auto decoded = csv::decode_in_place(raw, params.options);
    if (auto* rejection = std::get_if<csv::Rejection>(&decoded)) {
        return rejection_reply(*rejection);
    }
    const auto& document = std::get<csv::Document>(decoded);
    auto analyzed = csv::analyze(document, params.options);
    if (auto* rejection = std::get_if<csv::Rejection>(&analyzed)) {
        return rejection_reply(*rejection);
    }
    const auto& plan = std::get<csv::Plan>(analyzed);

    wire::LoadBegin begin;
    begin.table = params.table.empty() ? csv::table_name(params.file_name, true)
                                       : csv::table_name(params.table, false);
    begin.mode = params.mode;
    for (const auto& column : plan.columns) {
        begin.columns.push_back({column.name, std::string(csv::sql_name(column.type))});
        begin.headers.push_back(column.header);
    }

    Session session(config_, context_);
    std::optional<wire::LoadResult> done = session.open(begin);
    wire::LoadBatch batch;
    csv::RowReader reader(document, plan);
    std::vector<std::optional<std::string>> values;
    std::uint64_t rows = 0;
    while (!done && reader.next(values)) {
        csv::append_copy_line(batch.copy_text, values);
        ++batch.rows;
        ++rows;
        if (batch.rows >= config_.http.batch_rows) {
            ++batch.seq;
            done = session.send(batch);
            batch.rows = 0;
            batch.copy_text.clear();
        }
    }
    if (!done && batch.rows > 0) {
        ++batch.seq;
        done = session.send(batch);
    }
    if (!done) {
        wire::LoadEnd end;
        end.batches = batch.seq;
        end.rows = rows;
        done = session.send(end);
    }
    wire::LoadResult result = done ? *done : session.finish();
    if (!result.ok) {
        log_->info("upload refused table={} status={} error={}", begin.table, result.status,
                   result.error);
        return error_reply(result.status, result.error, result.detail);
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
