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

// The stages that use PostgreSQL (see app/stages.cpp); a host running none of them needs no
// database, so its launcher starts no embedded cluster.
inline const std::vector<std::string> kDatabaseStages = {"loader", "view", "checker", "http"};

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

// [views]: bounds of the view stage and the views API.
struct ViewsConfig {
    int refresh_history = 100;       // rows of tinydevcrm.refreshes kept per view
    int refresh_timeout_ms = 60000;  // statement timeout of one refresh
    int create_timeout_ms = 10000;   // statement timeout of making or deleting a view
};

// [events]: bounds of the checker's events and event log.
struct EventsConfig {
    int log_per_view = 1000;           // events kept per view in tinydevcrm.events
    std::size_t max_rows = 10000;      // rows one event carries at most
    std::size_t max_bytes = 4u << 20;  // value bytes one event carries at most (about)
    // Events held per connection before newer ones are dropped for it: the broker's queue
    // towards each subscriber and from the publishers, the checker's towards the broker and
    // each subscriber's receive queue. Bounds memory at about queue_length x event size.
    int queue_length = 100;
};

// CurveZMQ between the broker and every other process (docs/OPERATIONS.md, "Encryption and
// authentication"). Off by default. Paths are taken from the config file's folder; the key
// files are read when a process starts (common/curve.hpp), not here.
struct SecurityConfig {
    bool curve = false;
    std::filesystem::path broker_public_key;  // every process but the broker: whom to trust
    std::filesystem::path secret_key;         // this host's processes: their own secret key
    std::filesystem::path broker_secret_key;  // the broker's secret key; only it reads it
    std::filesystem::path stage_keys;         // broker: folder of the stages' *.public keys
    std::filesystem::path subscriber_keys;    // broker: folder of subscribers' keys; may be unset
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
    SecurityConfig security;
    int tick_interval_ms = 1000;
    ViewsConfig views;
    EventsConfig events;
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
