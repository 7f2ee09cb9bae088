// The configuration every process reads: one TOML file (config/tinydevcrm.toml by default).
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tdc {

// A configuration that cannot be used. The message names the file, the key and the reason.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The stages a launcher can start, in start order.
inline const std::vector<std::string> kStageNames = {"broker", "loader", "view", "checker",
                                                     "ticker", "logger", "http"};

struct Endpoints {
    std::string bus = "tcp://127.0.0.1:5561";         // broker ROUTER; stages connect
    std::string events_in = "tcp://127.0.0.1:5559";   // broker XSUB; publishers connect
    std::string events_out = "tcp://127.0.0.1:5560";  // broker XPUB; subscribers connect
};

struct HttpConfig {
    std::string host = "127.0.0.1";
    int port = 8080;
    int threads = 4;
    std::size_t max_upload_bytes = 256u << 20;
    std::size_t batch_rows = 5000;  // rows per LoadBatch sent to the loader
    int upload_timeout_ms = 30000;  // how long to wait on the loader before answering 503
    std::filesystem::path web_root;
    // When not empty, write endpoints (POST) require `Authorization: Bearer <write_token>`
    // and answer 401 without it. Printable ASCII without spaces, 16 to 256 characters.
    std::string write_token;
};

// How `tinydevcrm run` runs the stages: each its own OS process (the default), or every stage
// on its own thread of the one process, talking over inproc:// endpoints.
enum class LaunchMode { kProcesses, kThreads };

struct Config {
    std::filesystem::path file;               // where this configuration came from
    std::optional<std::string> database_url;  // absent: the embedded cluster
    std::filesystem::path data_dir;           // embedded cluster and other state
    Endpoints endpoints;
    HttpConfig http;
    int tick_interval_ms = 1000;
    LaunchMode launch_mode = LaunchMode::kProcesses;  // [launch] mode
    std::map<std::string, int> processes;  // stage name -> instances (processes or threads)
    std::string log_level = "info";
    std::string logger_level = "debug";  // the logger stage logs events at debug
};

// Reads and validates `file`. Relative paths in it are taken from the file's folder.
// TINYDEVCRM_DATABASE_URL, when set, overrides the configured database.
// Throws ConfigError for a missing file, a syntax error, an unknown stage, a bad endpoint
// or a value out of range.
Config load_config(const std::filesystem::path& file);

// Checks a ZeroMQ endpoint of the form tcp://host:port, ipc://path or inproc://name.
// Throws ConfigError naming `key` when it is not one.
void check_endpoint(const std::string& key, const std::string& endpoint);

}  // namespace tdc
