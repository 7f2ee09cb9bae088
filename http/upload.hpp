// The upload path of the HTTP front: checks and types a CSV, then streams it to a loader
// over the bus in acknowledged batches and reports what the loader committed.
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "common/config.hpp"
#include "csv/csv.hpp"
#include "http/api.hpp"

namespace tdc::http {

struct UploadParams {
    std::string table;      // the `table` field; empty: from `file_name`
    std::string file_name;  // the uploaded file's name, when there is one
    std::string mode = "create";
    csv::Options options;
};

class Uploader {
public:
    Uploader(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log);

    // Loads `raw` as a new table. Answers 201 with {table, columns, rows, views, encoding,
    // delimiter}; 400 with {error, detail, lines} for a CSV that cannot be loaded; 409 when
    // the table exists; 503 when no loader answered within the configured time. Nothing is
    // left behind by a refused upload.
    Reply upload(std::string raw, const UploadParams& params);

    // Unacknowledged batches allowed in flight: bounds the memory queued in ZeroMQ.
    static constexpr int kWindow = 4;

private:
    class Session;

    const Config& config_;
    zmq::context_t& context_;
    std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tdc::http
