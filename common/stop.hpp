// Turns SIGINT and SIGTERM into a readable file descriptor that ZeroMQ can poll beside its
// sockets, so a stage's loop sees shutdown as one more input instead of racing on a flag.
#pragma once

#include <chrono>

#include <zmq.hpp>

namespace tdc {

class StopSignal {
public:
    // Blocks SIGINT and SIGTERM for the calling thread and every thread it starts later.
    // REQUIRES: constructed in main before any thread is started.
    StopSignal();
    ~StopSignal();
    StopSignal(const StopSignal&) = delete;
    StopSignal& operator=(const StopSignal&) = delete;

    // A poll item that becomes readable once a stop signal arrived.
    zmq::pollitem_t poll_item() const;

    // True once a stop signal arrived (it stays true).
    bool requested();

    // Sleeps up to `duration`; returns true early when stop is requested.
    bool wait_for(std::chrono::milliseconds duration);

private:
    int fd_ = -1;
    bool stopped_ = false;
};

}  // namespace tdc
