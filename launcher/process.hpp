// Starting child processes with fork/execv (never through a shell) and waiting for them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tdc {

// An OS user a child switches to before exec. Resolved in the parent, because looking a user
// up is not safe between fork and exec.
struct RunAs {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary groups
};

// Looks up `name` in the user database. Throws std::runtime_error when there is no such user.
RunAs lookup_user(const std::string& name);

struct SpawnOptions {
    std::optional<RunAs> run_as;     // switch user after fork (the caller must be root)
    bool new_session = false;        // setsid: away from the terminal's Ctrl-C
    bool own_process_group = false;  // setpgid: away from the terminal's Ctrl-C, same session
    bool die_with_parent = false;    // SIGTERM when the spawning thread ends (PR_SET_PDEATHSIG)
    int output_fd = -1;              // stdout and stderr go here when >= 0; stdin is /dev/null
    std::string workdir;             // chdir here when not empty
};

// Starts argv[0] (a path, not searched in PATH) with `argv`. In the child, SIGINT and SIGTERM
// are unblocked first, since StopSignal blocks them and the mask survives exec. When exec
// fails the child writes the reason to its output and exits with status 127.
// Returns the child's pid; throws std::runtime_error when fork fails.
pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& options);

// Waits for `pid` to end and returns its wait status. Throws when waitpid fails.
int wait_for_exit(pid_t pid);

// Returns the wait status of `pid` if it ended by `deadline` (polling every few ms), or
// nullopt when it is still running then.
std::optional<int> wait_for_exit_until(pid_t pid, std::chrono::steady_clock::time_point deadline);

// "status=3" for an exit, "signal=9" for a death by signal: the form log lines use.
std::string describe_status(int wait_status);

// True when the process `pid` exists (it may belong to another user).
bool process_alive(pid_t pid);

}  // namespace tdc
