// The launcher's share of `GET /status`: every second it tells the broker which stage
// processes (or threads) it runs, their pids and how often each was restarted. The broker keeps the
// latest report per launcher (one per host) and merges it with the workers' heartbeats.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

namespace tdc {

class StatusReporter {
public:
    // Connects a DEALER on `context` to the broker's bus at `endpoint`. Never blocks: while
    // the broker is down, reports are dropped, not queued (the next one carries the same
    // facts). `context` must outlive this reporter.
    StatusReporter(zmq::context_t& context, const std::string& endpoint);

    // Sends `stages` (an array of {stage, instance, pid, up, restarts, given_up}) when a
    // second has passed since the last report.
    void report_if_due(const nlohmann::json& stages);

    static constexpr std::chrono::seconds kInterval{1};

private:
    zmq::socket_t socket_;
    std::chrono::steady_clock::time_point next_{};
};

}  // namespace tdc
