#include "common/log.hpp"

#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>

namespace tdc {

std::shared_ptr<spdlog::logger> make_logger(const std::string& stage, const std::string& level) {
    // Stage threads of one process ask at once; spdlog refuses a second logger of a name.
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    if (auto existing = spdlog::get(stage)) {
        return existing;
    }
    auto logger = spdlog::stderr_logger_mt(stage);
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %n pid=%P %v", spdlog::pattern_time_type::utc);
    auto parsed = spdlog::level::from_str(level);
    bool known = parsed != spdlog::level::off || level == "off";
    logger->set_level(known ? parsed : spdlog::level::info);
    logger->flush_on(spdlog::level::trace);
    return logger;
}

bool LogLimit::allow(const std::string& what, std::size_t& suppressed) {
    auto now = std::chrono::steady_clock::now();
    if (seen_.size() >= kMaxRemembered) {  // forget quiet ones, so many keys stay bounded
        for (auto it = seen_.begin(); it != seen_.end();) {
            it = now - it->second.last >= period_ ? seen_.erase(it) : std::next(it);
        }
        if (seen_.size() >= kMaxRemembered) {
            seen_.clear();
        }
    }
    auto [it, added] = seen_.try_emplace(what, Seen{now, 0});
    if (!added && now - it->second.last < period_) {
        ++it->second.suppressed;
        return false;
    }
    suppressed = added ? 0 : it->second.suppressed;
    it->second = Seen{now, 0};
    return true;
}

}  // namespace tdc
