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

}  // namespace tdc
