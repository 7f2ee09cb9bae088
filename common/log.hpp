// One spdlog logger per stage, named after it, writing `event key=value ...` lines to stderr.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace tdc {

// Creates (or returns) the logger called `stage` at `level` ("trace" ... "off"). Lines carry
// the time, level, stage name and pid, so the interleaved output of several processes stays
// readable. A bad level name falls back to info. Safe to call from several threads.
std::shared_ptr<spdlog::logger> make_logger(const std::string& stage, const std::string& level);

}  // namespace tdc
