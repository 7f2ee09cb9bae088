// Counts the uploads in progress, so a stopping HTTP front can let them finish: once closed,
// the gate refuses new uploads, and wait() waits for the ones it admitted.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

namespace tdc::http {

class UploadGate {
public:
    // Held for one upload's life; leaving its scope ends the upload for the gate.
    class Ticket {
    public:
        explicit Ticket(UploadGate& gate) : gate_(&gate) {}
        Ticket(Ticket&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
        Ticket& operator=(Ticket&&) = delete;
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        ~Ticket();

    private:
        UploadGate* gate_;
    };

    // Admits an upload; empty once close() was called.
    std::optional<Ticket> enter();

    // Refuses every later upload. Returns how many are in progress.
    int close();

    // Waits until the uploads in progress have ended or `timeout` passed. Returns how many
    // were still in progress when it returned.
    int wait(std::chrono::milliseconds timeout);

private:
    void leave();

    std::mutex mutex_;
    std::condition_variable idle_;
    int open_ = 0;         // GUARDED_BY(mutex_)
    bool closed_ = false;  // GUARDED_BY(mutex_)
};

}  // namespace tdc::http
