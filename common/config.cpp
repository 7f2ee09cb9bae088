#include "common/config.hpp"

#include <algorithm>
#include <cstdlib>
#include <regex>

#include <toml++/toml.h>
#include <zmq.h>

namespace tdc {

namespace {

const std::vector<std::string> kTopLevelKeys = {"database", "endpoints", "http",      "ticker",
                                                "views",    "events",    "processes", "launch",
                                                "log",      "security"};

std::string where(const Config& config, const toml::node& node) {
    const auto& source = node.source();
    return config.file.string() + ":" + std::to_string(source.begin.line);
}

[[noreturn]] void fail(const Config& config, const std::string& key, const std::string& why) {
    throw ConfigError("config " + config.file.string() + ": " + key + ": " + why);
}

// Reads table.key into `out` when present; a value of the wrong type is an error.
template <class T>
void read(const Config& config, const toml::table& table, const std::string& section,
          const std::string& key, T& out) {
    const toml::node* node = table.get(key);
    if (node == nullptr) {
        return;
    }
    auto value = node->value<T>();
    if (!value) {
        throw ConfigError("config " + where(config, *node) + ": " + section + "." + key +
                          ": wrong type");
    }
    out = *value;
}

void read_int(const Config& config, const toml::table& table, const std::string& section,
              const std::string& key, long long low, long long high, long long& out) {
    read(config, table, section, key, out);
    if (out < low || out > high) {
        fail(config, section + "." + key,
             "must be between " + std::to_string(low) + " and " + std::to_string(high) + ", got " +
                 std::to_string(out));
    }
}

const toml::table* section(const Config& config, const toml::table& root, const char* name) {
    const toml::node* node = root.get(name);
    if (node == nullptr) {
        return nullptr;
    }
    if (!node->is_table()) {
        throw ConfigError("config " + where(config, *node) + ": [" + name + "] must be a table");
    }
    return node->as_table();
}

std::filesystem::path resolve(const Config& config, const std::string& path) {
    std::filesystem::path p(path);
    if (p.is_absolute()) {
        return p;
    }
    return (config.file.parent_path() / p).lexically_normal();
}

void read_database(Config& config, const toml::table& root) {
    std::string data_dir = "../var";
    if (const toml::table* db = section(config, root, "database")) {
        std::string url;
        read(config, *db, "database", "url", url);
        if (!url.empty()) {
            config.database_url = url;
        }
        read(config, *db, "database", "data_dir", data_dir);
    }
    config.data_dir = resolve(config, data_dir);
    if (const char* env = std::getenv("TINYDEVCRM_DATABASE_URL"); env != nullptr && *env) {
        config.database_url = env;
    }
}

void read_endpoints(Config& config, const toml::table& root) {
    if (const toml::table* ep = section(config, root, "endpoints")) {
        read(config, *ep, "endpoints", "bus", config.endpoints.bus);
        read(config, *ep, "endpoints", "events_in", config.endpoints.events_in);
        read(config, *ep, "endpoints", "events_out", config.endpoints.events_out);
    }
    check_endpoint("endpoints.bus", config.endpoints.bus);
    check_endpoint("endpoints.events_in", config.endpoints.events_in);
    check_endpoint("endpoints.events_out", config.endpoints.events_out);
}

// The token reaches HTTP headers and comparisons: printable, no spaces, long enough to guess
// badly. Its value never appears in the message.
void check_token(const Config& config, const std::string& token) {
    if (token.empty()) {
        return;
    }
    bool printable = std::all_of(token.begin(), token.end(),
                                 [](unsigned char c) { return c > 0x20 && c < 0x7f; });
    if (!printable || token.size() < 16 || token.size() > 256) {
        fail(config, "http.write_token",
             "must be 16 to 256 printable ASCII characters without spaces (got " +
                 std::to_string(token.size()) + " characters)");
    }
}

void read_http(Config& config, const toml::table& root) {
    std::string web_root = "../web";
    long long port = config.http.port;
    long long threads = config.http.threads;
    long long max_upload = static_cast<long long>(config.http.max_upload_bytes);
    long long batch_rows = static_cast<long long>(config.http.batch_rows);
    long long timeout = config.http.upload_timeout_ms;
    if (const toml::table* http = section(config, root, "http")) {
        read(config, *http, "http", "host", config.http.host);
        read_int(config, *http, "http", "port", 0, 65535, port);
        read_int(config, *http, "http", "threads", 1, 64, threads);
        read_int(config, *http, "http", "max_upload_bytes", 1024, 4LL << 30, max_upload);
        read_int(config, *http, "http", "batch_rows", 1, 1000000, batch_rows);
        read_int(config, *http, "http", "upload_timeout_ms", 100, 3600000, timeout);
        read(config, *http, "http", "web_root", web_root);
        read(config, *http, "http", "write_token", config.http.write_token);
    }
    check_token(config, config.http.write_token);
    config.http.port = static_cast<int>(port);
    config.http.threads = static_cast<int>(threads);
    config.http.max_upload_bytes = static_cast<std::size_t>(max_upload);
    config.http.batch_rows = static_cast<std::size_t>(batch_rows);
    config.http.upload_timeout_ms = static_cast<int>(timeout);
    config.http.web_root = resolve(config, web_root);
}

constexpr long long kDayMs = 24LL * 3600 * 1000;

// A misspelt key would silently leave its default in force: name it instead.
void check_keys(const Config& config, const toml::table& table, const std::string& section,
                const std::vector<std::string>& known) {
    for (const auto& [key, node] : table) {
        std::string name(key.str());
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            std::string list;
            for (const auto& k : known) {
                list += (list.empty() ? "" : ", ") + k;
            }
            fail(config, section + "." + name, "unknown key (known: " + list + ")");
        }
    }
}

void read_views(Config& config, const toml::table& root) {
    long long history = config.views.refresh_history;
    long long refresh_timeout = config.views.refresh_timeout_ms;
    long long create_timeout = config.views.create_timeout_ms;
    if (const toml::table* views = section(config, root, "views")) {
        check_keys(config, *views, "views",
                   {"refresh_history", "refresh_timeout_ms", "create_timeout_ms"});
        read_int(config, *views, "views", "refresh_history", 1, 1000000, history);
        read_int(config, *views, "views", "refresh_timeout_ms", 100, kDayMs, refresh_timeout);
        read_int(config, *views, "views", "create_timeout_ms", 100, kDayMs, create_timeout);
    }
    config.views.refresh_history = static_cast<int>(history);
    config.views.refresh_timeout_ms = static_cast<int>(refresh_timeout);
    config.views.create_timeout_ms = static_cast<int>(create_timeout);
}

// An event is one ZeroMQ message and one row of the event log: both caps stay finite, and the
// log's size is at most log_per_view times max_bytes per view.
void read_events(Config& config, const toml::table& root) {
    long long log_per_view = config.events.log_per_view;
    long long max_rows = static_cast<long long>(config.events.max_rows);
    long long max_bytes = static_cast<long long>(config.events.max_bytes);
    long long queue = config.events.queue_length;
    if (const toml::table* events = section(config, root, "events")) {
        check_keys(config, *events, "events",
                   {"log_per_view", "max_rows", "max_bytes", "queue_length"});
        read_int(config, *events, "events", "log_per_view", 1, 1000000, log_per_view);
        read_int(config, *events, "events", "max_rows", 1, 1000000, max_rows);
        read_int(config, *events, "events", "max_bytes", 1024, 256LL << 20, max_bytes);
        read_int(config, *events, "events", "queue_length", 1, 100000, queue);
    }
    config.events.log_per_view = static_cast<int>(log_per_view);
    config.events.max_rows = static_cast<std::size_t>(max_rows);
    config.events.max_bytes = static_cast<std::size_t>(max_bytes);
    config.events.queue_length = static_cast<int>(queue);
}

void read_security_path(Config& config, const toml::table& table, const std::string& key,
                        std::filesystem::path& out) {
    std::string path;
    read(config, table, "security", key, path);
    if (!path.empty()) {
        out = resolve(config, path);
    }
}

void read_security(Config& config, const toml::table& root) {
    const toml::table* table = section(config, root, "security");
    if (table == nullptr) {
        return;
    }
    check_keys(config, *table, "security",
               {"curve", "broker_public_key", "secret_key", "broker_secret_key", "stage_keys",
                "subscriber_keys"});
    SecurityConfig& security = config.security;
    read(config, *table, "security", "curve", security.curve);
    read_security_path(config, *table, "broker_public_key", security.broker_public_key);
    read_security_path(config, *table, "secret_key", security.secret_key);
    read_security_path(config, *table, "broker_secret_key", security.broker_secret_key);
    read_security_path(config, *table, "stage_keys", security.stage_keys);
    read_security_path(config, *table, "subscriber_keys", security.subscriber_keys);
    if (!security.curve) {
        return;
    }
    if (!zmq_has("curve")) {
        fail(config, "security.curve", "this libzmq was built without CURVE support");
    }
    // Every process on a host connects to the broker (the launcher too), so each needs both.
    for (auto [key, path] : {std::pair{"security.broker_public_key", &security.broker_public_key},
                             std::pair{"security.secret_key", &security.secret_key}}) {
        if (path->empty()) {
            fail(config, key, "required when security.curve is on (see `tinydevcrm keygen`)");
        }
    }
}

void read_processes(Config& config, const toml::table& root) {
    for (const auto& stage : kStageNames) {
        config.processes[stage] = 1;
    }
    const toml::table* table = section(config, root, "processes");
    if (table == nullptr) {
        return;
    }
    for (const auto& [key, node] : *table) {
        std::string name(key.str());
        if (std::find(kStageNames.begin(), kStageNames.end(), name) == kStageNames.end()) {
            fail(config, "processes." + name,
                 "unknown stage (known: broker, loader, view, "
                 "checker, ticker, logger, http)");
        }
        long long count = 1;
        read_int(config, *table, "processes", name, 0, 64, count);
        config.processes[name] = static_cast<int>(count);
    }
    for (const char* single : {"broker", "http", "ticker", "view"}) {
        if (config.processes[single] > 1) {
            fail(config, std::string("processes.") + single,
                 "at most 1 process: this stage owns a port or the refresh schedule");
        }
    }
}

// [launch] mode: "processes" (the default) or "threads".
void read_launch(Config& config, const toml::table& root) {
    const toml::table* launch = section(config, root, "launch");
    if (launch == nullptr) {
        return;
    }
    for (const auto& [key, node] : *launch) {
        if (key.str() != "mode") {
            fail(config, "launch." + std::string(key.str()), "unknown key (known: mode)");
        }
    }

    std::string mode = "processes";
    read(config, *launch, "launch", "mode", mode);
    if (mode == "threads") {
        config.launch_mode = LaunchMode::kThreads;
    } else if (mode != "processes") {
        fail(config, "launch.mode", "must be \"processes\" or \"threads\", got \"" + mode + "\"");
    }
}

void read_rest(Config& config, const toml::table& root) {
    long long interval = config.tick_interval_ms;
    if (const toml::table* ticker = section(config, root, "ticker")) {
        read_int(config, *ticker, "ticker", "interval_ms", 10, 3600000, interval);
    }
    config.tick_interval_ms = static_cast<int>(interval);
    if (const toml::table* log = section(config, root, "log")) {
        read(config, *log, "log", "level", config.log_level);
        read(config, *log, "log", "logger_level", config.logger_level);
    }
}

}  // namespace

void check_endpoint(const std::string& key, const std::string& endpoint) {
    static const std::regex kTcp(R"(tcp://(\*|[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):([0-9]{1,5}))");
    static const std::regex kOther(R"((ipc|inproc)://.+)");
    std::smatch match;
    if (std::regex_match(endpoint, match, kTcp)) {
        int port = std::stoi(match[2].str());
        if (port >= 1 && port <= 65535) {
            return;
        }
    } else if (std::regex_match(endpoint, kOther)) {
        return;
    }
    throw ConfigError("config: " + key + ": bad endpoint '" + endpoint +
                      "' (expected tcp://host:port, ipc://path or inproc://name)");
}

Config load_config(const std::filesystem::path& file) {
    Config config;
    config.file = std::filesystem::absolute(file).lexically_normal();
    if (!std::filesystem::exists(config.file)) {
        throw ConfigError("config " + config.file.string() + ": no such file");
    }
    toml::table root;
    try {
        root = toml::parse_file(config.file.string());
    } catch (const toml::parse_error& e) {
        throw ConfigError("config " + config.file.string() + ":" +
                          std::to_string(e.source().begin.line) + ": " +
                          std::string(e.description()));
    }
    for (const auto& [key, node] : root) {
        std::string name(key.str());
        if (std::find(kTopLevelKeys.begin(), kTopLevelKeys.end(), name) == kTopLevelKeys.end()) {
            fail(config, name, "unknown section");
        }
    }
    read_database(config, root);
    read_endpoints(config, root);
    read_http(config, root);
    read_views(config, root);
    read_events(config, root);
    read_processes(config, root);
    read_security(config, root);
    read_launch(config, root);
    read_rest(config, root);
    return config;
}

}  // namespace tdc
