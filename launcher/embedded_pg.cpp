#include "launcher/embedded_pg.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <pqxx/pqxx>

namespace tdc {

namespace {

namespace fs = std::filesystem;

const fs::path kServerRoot = "/usr/lib/postgresql";
constexpr std::size_t kTailLines = 8;
constexpr std::streamoff kTailBytes = 8192;
constexpr const char* kSettingsFile = "tinydevcrm.conf";
constexpr const char* kIncludeLine = "include_if_exists = 'tinydevcrm.conf'";

// Closes the file descriptor it owns when it goes out of scope.
class OwnedFd {
public:
    explicit OwnedFd(int fd) : fd_(fd) {}
    ~OwnedFd() { close(fd_); }
    OwnedFd(const OwnedFd&) = delete;
    OwnedFd& operator=(const OwnedFd&) = delete;

    int get() const { return fd_; }

private:
    int fd_;
};

// The bin folder of the highest PostgreSQL major that has pg_ctl, e.g. /usr/lib/postgresql/15/bin.
fs::path find_bin_dir() {
    int best = -1;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(kServerRoot, error)) {
        std::string name = entry.path().filename().string();
        bool numeric = !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
        if (numeric && fs::exists(entry.path() / "bin" / "pg_ctl")) {
            best = std::max(best, std::stoi(name));
        }
    }
    if (best < 0) {
        throw std::runtime_error("No PostgreSQL server binaries found: there is no " +
                                 kServerRoot.string() +
                                 "/<major>/bin/pg_ctl (install the postgresql package).");
    }
    return kServerRoot / std::to_string(best) / "bin";
}

std::string join(const std::vector<std::string>& words, const std::string& separator) {
    std::string out;
    for (const auto& word : words) {
        out += (out.empty() ? "" : separator) + word;
    }
    return out;
}

// The last kTailLines non-empty lines among the last kTailBytes of `in`.
std::vector<std::string> last_lines(std::ifstream& in) {
    in.seekg(0, std::ios::end);
    std::streamoff start = std::max<std::streamoff>(0, in.tellg() - kTailBytes);
    in.seekg(start);
    std::string line;
    if (start > 0) {
        std::getline(in, line);  // began mid-line
    }
    std::deque<std::string> lines;
    while (std::getline(in, line)) {
        if (!line.empty()) {
            lines.push_back(line);
        }
        if (lines.size() > kTailLines) {
            lines.pop_front();
        }
    }
    return {lines.begin(), lines.end()};
}

// The end of `file` on one line, or a note that it cannot be read.
std::string tail(const fs::path& file) {
    std::ifstream in(file);
    if (!in) {
        return "(" + file.string() + " cannot be read)";
    }
    return join(last_lines(in), " | ");
}

// pg_ctl hands the data folder and log file to /bin/sh inside double quotes, where these
// characters would still be interpreted.
void check_shell_safe(const fs::path& path) {
    if (path.string().find_first_of("\"$`\\\n") != std::string::npos) {
        throw std::runtime_error("Cannot run pg_ctl on " + path.string() +
                                 ": the path contains one of \" $ ` \\ or a newline, which "
                                 "pg_ctl would pass to the shell.");
    }
}

// A conninfo value, quoted when it holds a space, a quote or a backslash.
std::string conninfo_value(const std::string& value) {
    if (!value.empty() && value.find_first_of(" '\\\t\n") == std::string::npos) {
        return value;
    }
    std::string out = "'";
    for (char c : value) {
        out += (c == '\'' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    }
    return out + "'";
}

// A postgresql.conf string literal.
std::string conf_string(const std::string& value) {
    std::string out = "'";
    for (char c : value) {
        out += c == '\'' ? "''" : c == '\\' ? "\\\\" : std::string(1, c);
    }
    return out + "'";
}

// Writes (or appends) `text` to `file`, owned by `owner` when given.
void write_file(const fs::path& file, const std::string& text, bool append,
                const std::optional<RunAs>& owner) {
    std::ofstream out(file, append ? std::ios::app : std::ios::trunc);
    out << text;
    if (!out.flush()) {
        throw std::runtime_error("Cannot write " + file.string() + ".");
    }
    if (owner && chown(file.c_str(), owner->uid, owner->gid) != 0) {
        throw std::runtime_error("Cannot hand " + file.string() + " to user " + owner->name + ": " +
                                 std::strerror(errno) + ".");
    }
}

bool file_contains(const fs::path& file, const std::string& needle) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str().find(needle) != std::string::npos;
}

// Opens `file` for appending, hands it to `owner` and writes the command line to it.
int open_tool_log(const fs::path& file, const std::string& command,
                  const std::optional<RunAs>& owner) {
    int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw std::runtime_error("Cannot open " + file.string() + ": " + std::strerror(errno) +
                                 ".");
    }
    std::string header = "$ " + command + "\n";
    bool written = write(fd, header.data(), header.size()) >= 0;
    bool handed = !owner || fchown(fd, owner->uid, owner->gid) == 0;
    if (!written || !handed) {
        int error = errno;
        close(fd);
        throw std::runtime_error("Cannot prepare " + file.string() + ": " + std::strerror(error) +
                                 ".");
    }
    return fd;
}

std::string failure_message(const std::string& command, int status,
                            const std::vector<fs::path>& logs) {
    std::string message = "Command `" + command + "` failed (" + describe_status(status) + ")";
    for (const auto& file : logs) {
        message += "; last lines of " + file.string() + ": " + tail(file);
    }
    return message;
}

}  // namespace

EmbeddedPostgres::EmbeddedPostgres(fs::path dir, std::shared_ptr<spdlog::logger> log, int port)
    : dir_(fs::absolute(dir).lexically_normal()), log_(std::move(log)), port_(port) {}

EmbeddedPostgres::~EmbeddedPostgres() {
    if (!started_ || keep_running_) {
        return;
    }
    try {
        stop();
    } catch (const std::exception& e) {
        log_->error("pg stop failed dir={} reason=\"{}\"", layout_.cluster.string(), e.what());
    }
}

std::string EmbeddedPostgres::start() {
    resolve_tools();
    layout_ = prepare_layout(dir_, runner_, port_, *log_);
    if (server_running()) {
        log_->info("pg already running dir={} socket_dir={}", layout_.cluster.string(),
                   layout_.socket_dir.string());
        return conninfo(kEmbeddedDatabase);
    }

    if (!fs::exists(layout_.data / "PG_VERSION")) {
        init_cluster();
    }
    write_settings();
    start_server();
    started_ = true;
    create_database();

    log_->info("pg started dir={} socket_dir={} bin_dir={}", layout_.cluster.string(),
               layout_.socket_dir.string(), bin_dir_.string());
    return conninfo(kEmbeddedDatabase);
}

void EmbeddedPostgres::stop(bool force) {
    if (!started_ && !force) {
        return;
    }
    if (!started_) {
        layout_ = find_layout(dir_, port_);
    }
    if (!server_running()) {
        started_ = false;
        log_->debug("pg not running dir={}", layout_.cluster.string());
        return;
    }

    resolve_tools();
    run_tool("pg_ctl", {"stop", "-w", "-m", "fast", "-D", layout_.data.string()},
             {layout_.tool_log, layout_.server_log});
    started_ = false;
    log_->info("pg stopped dir={}", layout_.cluster.string());
}

void EmbeddedPostgres::resolve_tools() {
    if (geteuid() == 0 && !runner_) {
        try {
            runner_ = lookup_user("postgres");
        } catch (const std::exception& e) {
            throw std::runtime_error(std::string("PostgreSQL refuses to run as root, and ") +
                                     e.what());
        }
    }
    if (bin_dir_.empty()) {
        bin_dir_ = find_bin_dir();
    }
}

bool EmbeddedPostgres::server_running() const {
    std::ifstream in(layout_.data / "postmaster.pid");
    long pid = 0;
    return static_cast<bool>(in >> pid) && process_alive(static_cast<pid_t>(pid));
}

void EmbeddedPostgres::init_cluster() {
    log_->info("pg initdb dir={}", layout_.data.string());
    run_tool("initdb",
             {"-D", layout_.data.string(), "-U", "postgres", "--auth=trust", "-E", "UTF8",
              "--no-locale"},
             {layout_.tool_log});
}

// The settings live in a file that postgresql.conf includes, not in pg_ctl -o, because
// pg_ctl passes -o through the shell.
void EmbeddedPostgres::write_settings() {
    std::string settings = "# Written by tinydevcrm before every start; edits here are lost.\n";
    settings += "listen_addresses = ''\n";
    settings += "unix_socket_directories = " + conf_string(layout_.socket_dir.string()) + "\n";
    settings += "port = " + std::to_string(port_) + "\n";
    write_file(layout_.data / kSettingsFile, settings, false, runner_);

    fs::path main_conf = layout_.data / "postgresql.conf";
    if (!file_contains(main_conf, kIncludeLine)) {
        write_file(main_conf, std::string("\n") + kIncludeLine + "\n", true, runner_);
    }
}

void EmbeddedPostgres::start_server() {
    check_shell_safe(layout_.cluster);
    run_tool("pg_ctl",
             {"start", "-w", "-D", layout_.data.string(), "-l", layout_.server_log.string()},
             {layout_.tool_log, layout_.server_log});
}

constexpr const char* kFindDatabaseSql = "SELECT 1 FROM pg_database WHERE datname = 'tinydevcrm'";
constexpr const char* kCreateDatabaseSql = "CREATE DATABASE tinydevcrm";

void EmbeddedPostgres::create_database() {
    try {
        pqxx::connection connection(conninfo("postgres"));
        pqxx::nontransaction tx(connection);
        if (tx.exec(kFindDatabaseSql).empty()) {
            tx.exec(kCreateDatabaseSql);
            log_->info("pg database created name={}", kEmbeddedDatabase);
        }
    } catch (const std::exception& e) {
        throw std::runtime_error("Creating database tinydevcrm in the embedded cluster at " +
                                 layout_.cluster.string() + " failed: " + e.what());
    }
}

std::string EmbeddedPostgres::conninfo(const std::string& database) const {
    return "host=" + conninfo_value(layout_.socket_dir.string()) +
           " port=" + std::to_string(port_) + " dbname=" + conninfo_value(database) +
           " user=postgres";
}

// Runs bin_dir_/tool as the server's user in its own session, with its output appended to
// the tool log. Throws naming the command, its exit status and the tails of `logs`.
void EmbeddedPostgres::run_tool(const std::string& tool, const std::vector<std::string>& args,
                                const std::vector<fs::path>& logs) {
    std::vector<std::string> argv{(bin_dir_ / tool).string()};
    argv.insert(argv.end(), args.begin(), args.end());
    OwnedFd out(open_tool_log(layout_.tool_log, join(argv, " "), runner_));

    SpawnOptions options;
    options.run_as = runner_;
    options.new_session = true;
    options.output_fd = out.get();
    options.workdir = "/";
    int status = wait_for_exit(spawn(argv, options));

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error(failure_message(join(argv, " "), status, logs));
    }
}

}  // namespace tdc
