#include "launcher/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace tdc {

namespace {

constexpr auto kPollStep = std::chrono::milliseconds(5);

// Writes "<what><object>: <reason>" and a newline to fd 2 with write(2) only: safe between
// fork and exec.
void child_error(const char* what, const char* object, const char* reason) {
    for (const char* part : {what, object, ": ", reason, "\n"}) {
        ssize_t ignored = write(2, part, std::strlen(part));
        (void)ignored;
    }
}

void unblock_stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

void redirect_io(int output_fd) {
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
        dup2(null_fd, 0);
        close(null_fd);
    }
    if (output_fd >= 0) {
        dup2(output_fd, 1);
        dup2(output_fd, 2);
    }
}

bool switch_user(const RunAs& user) {
    return setgroups(user.groups.size(), user.groups.data()) == 0 && setgid(user.gid) == 0 &&
           setuid(user.uid) == 0;
}

// Runs in the child between fork and exec: only async-signal-safe calls.
[[noreturn]] void run_child(char* const* argv, const SpawnOptions& options, pid_t parent) {
    unblock_stop_signals();
    if (options.new_session) {
        setsid();
    } else if (options.own_process_group) {
        setpgid(0, 0);
    }
    redirect_io(options.output_fd);
    if (options.run_as && !switch_user(*options.run_as)) {
        child_error("cannot switch to user ", options.run_as->name.c_str(), std::strerror(errno));
        _exit(126);
    }
    // Set after the user switch: changing credentials clears the parent-death signal.
    if (options.die_with_parent) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) {
            _exit(1);
        }
    }
    if (!options.workdir.empty() && chdir(options.workdir.c_str()) != 0) {
        child_error("cannot enter ", options.workdir.c_str(), std::strerror(errno));
        _exit(126);
    }
    execv(argv[0], argv);
    child_error("cannot exec ", argv[0], std::strerror(errno));
    _exit(127);
}

}  // namespace

RunAs lookup_user(const std::string& name) {
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (found == nullptr) {
        throw std::runtime_error("There is no OS user '" + name + "' on this machine.");
    }
    RunAs user{name, entry.pw_uid, entry.pw_gid, {}};
    int count = 64;
    user.groups.resize(count);
    while (getgrouplist(name.c_str(), entry.pw_gid, user.groups.data(), &count) < 0) {
        user.groups.resize(count);
    }
    user.groups.resize(count);
    return user;
}

pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
    std::vector<char*> raw;
    for (const auto& arg : argv) {
        raw.push_back(const_cast<char*>(arg.c_str()));
    }
    raw.push_back(nullptr);

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        throw std::runtime_error("fork failed for " + argv.at(0) + ": " + std::strerror(errno));
    }
    if (pid == 0) {
        run_child(raw.data(), options, parent);
    }
    return pid;
}

int wait_for_exit(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            throw std::runtime_error("waitpid failed for pid " + std::to_string(pid) + ": " +
                                     std::strerror(errno));
        }
    }
    return status;
}

std::optional<int> wait_for_exit_until(pid_t pid, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        int status = 0;
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            return status;
        }
        if (done < 0 && errno != EINTR) {
            throw std::runtime_error("waitpid failed for pid " + std::to_string(pid) + ": " +
                                     std::strerror(errno));
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(kPollStep);
    }
}

std::string describe_status(int wait_status) {
    if (WIFSIGNALED(wait_status)) {
        return "signal=" + std::to_string(WTERMSIG(wait_status));
    }
    return "status=" + std::to_string(WEXITSTATUS(wait_status));
}

bool process_alive(pid_t pid) {
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

}  // namespace tdc
