// A stop request as a readable file descriptor that ZeroMQ can poll beside its sockets, so a
// stage's loop sees shutdown as one more input instead of racing on a flag. Two kinds, one
// type: the process's own, fed by SIGINT and SIGTERM (a signalfd), and one a supervisor
// fires by hand for one stage thread (an eventfd), so stages in one process stop one by one.
#pragma once

#include <atomic>
#include <chrono>

#include <zmq.hpp>

namespace tdc {

class StopSignal {
public:
    // Selects the constructor of a stop signal that only request() fires.
    struct OnRequest {};

    // Fires on SIGINT or SIGTERM. Blocks both for the calling thread and every thread it
    // starts later. REQUIRES: constructed in main before any thread is started; one per process.
    StopSignal();
    // Fires when request() is called, from any thread; touches no signal mask.
    explicit StopSignal(OnRequest);
    ~StopSignal();
    StopSignal(const StopSignal&) = delete;
    StopSignal& operator=(const StopSignal&) = delete;

    // A poll item that becomes readable once the stop fired. For the OnRequest kind it stays
    // readable, so several threads may poll it.
    zmq::pollitem_t poll_item() const;

    // True once the stop fired (it stays true).
    bool requested();

    // Sleeps up to `duration`; returns true early when stop is requested.
    bool wait_for(std::chrono::milliseconds duration);

    // Fires the stop. Safe from any thread. REQUIRES: made with OnRequest.
    void request();

private:
    int fd_ = -1;
    bool by_request_ = false;
    std::atomic<bool> stopped_{false};
};

}  // namespace tdc
