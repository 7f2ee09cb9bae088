// One spdlog logger per stage, named after it, writing `event key=value ...` lines to stderr.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace tdc {

// Creates (or returns) the logger called `stage` at `level` ("trace" ... "off"). Lines carry
// the time, level, stage name and pid, so the interleaved output of several processes stays
// readable. A bad level name falls back to info. Safe to call from several threads.
std::shared_ptr<spdlog::logger> make_logger(const std::string& stage, const std::string& level);

// Lets one line about the same thing through per period, so what can repeat in a loop (a
// client refused on every reconnect) cannot flood the log. One per thread: not locked.
class LogLimit {
public:
    explicit LogLimit(std::chrono::steady_clock::duration period = std::chrono::seconds(10))
        : period_(period) {}

    // True when a line about `what` may be logged now; `suppressed` is then the number of
    // lines about it held back since the last one.
    bool allow(const std::string& what, std::size_t& suppressed);

private:
    struct Seen {
        std::chrono::steady_clock::time_point last;
        std::size_t suppressed = 0;
    };
    static constexpr std::size_t kMaxRemembered = 1024;

    std::chrono::steady_clock::duration period_;
    std::map<std::string, Seen> seen_;
};

}  // namespace tdc
