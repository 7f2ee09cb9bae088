// Runs one stage or tool in this process: what each subcommand of `tinydevcrm` does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "common/config.hpp"
#include "common/stop.hpp"

namespace tdc {

// Runs the stage called `name` (one of kStageNames) until stop. Returns the exit code.
// Throws ConfigError when a stage needs the database and none is configured.
int run_stage(const std::string& name, const Config& config, StopSignal& stop);

// Runs the stage called `name` as one thread of the threads launch mode, on the process's
// shared `context`: the stages connect to in_process_endpoints(config); the broker binds
// those as well as the configured endpoints, which other hosts and subscribers use.
// The launcher's StageBody. Throws like run_stage, and whatever the stage throws.
int run_stage_thread(const std::string& name, const Config& config, zmq::context_t& context,
                     StopSignal& stop);

struct SubOptions {
    std::string view_prefix;  // subscribe to views whose name starts with this
    std::size_t count = 0;    // exit after this many events; 0: run until stopped
    // Resume: print the events of view `view_prefix` (its full name) after this seq from the
    // checker's event log, then live ones, each seq once and none skipped.
    std::optional<std::uint64_t> since;
};

// Subscribes, waits for the broker's handshake answer and then says on stderr
// `tinydevcrm sub: subscribed ...`; from that line on no event is missed. Prints each event as
// one JSON line on stdout until stop or `count` events.
int run_sub(const Config& config, const SubOptions& options, StopSignal& stop);

}  // namespace tdc
