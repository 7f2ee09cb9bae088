// The upload path of the HTTP front: checks and types a CSV, then streams it to a loader
// over the bus in acknowledged batches and reports what the loader committed.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "common/config.hpp"
#include "common/wire.hpp"
#include "csv/csv.hpp"
#include "http/api.hpp"

namespace tdc::http {

struct UploadParams {
    std::string table;      // the `table` field; empty: from `file_name`
    std::string file_name;  // the uploaded file's name, when there is one
    std::string mode = "create";
    csv::Options options;
};

class Spool;

class Uploader {
public:
    Uploader(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log);

    // Loads the file in `spool` into a table as `params.mode` says: "create" a new table,
    // "replace" an existing one's rows (or the whole table and its views when the columns
    // change), or "append" rows to a table with the same columns. `checked` saw the file's bytes
    // as they arrived. Answers 201 with {table, mode, columns, rows, views, encoding,
    // delimiter}; 400 with {error, detail, lines} for a CSV that cannot be loaded or an unknown
    // mode; 404 when appending to a missing table; 409 when the table exists (create), its
    // columns differ (append) or one of its views does not fit the new columns (replace); 503
    // when no loader answered within the configured time. Nothing is created or changed by a
    // refused upload.
    //
    // The rows go to the loader while the file is still being read: under the types of its
    // first batch_rows rows, as long as every later row keeps them. When one does not, what was
    // sent is rolled back and the file is sent again under the types of all its rows; the
    // answer is the same either way.
    Reply upload(Spool& spool, const csv::ByteCheck& checked, const UploadParams& params) const;

    // Unacknowledged batches allowed in flight: bounds the memory queued in ZeroMQ.
    static constexpr int kWindow = 4;

private:
    class Session;
    class RowFeed;
    // Told the offset in the document's text up to which every reader is done, so that the
    // text before it may leave memory (Spool::release_before).
    using Release = std::function<void(std::size_t)>;

    Reply load(const csv::Document& document, const UploadParams& params,
               const Release& release) const;
    Reply load_plan(const csv::Document& document, const UploadParams& params,
                    const csv::Plan& plan, const Release& release) const;
    wire::LoadBegin load_begin(const UploadParams& params, const csv::Plan& plan) const;
    Reply result_reply(const wire::LoadResult& result, const wire::LoadBegin& begin,
                       const csv::Document& document) const;

    const Config& config_;
    zmq::context_t& context_;
    std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tdc::http
