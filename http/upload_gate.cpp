#include "http/upload_gate.hpp"

namespace tdc::http {

UploadGate::Ticket::~Ticket() {
    if (gate_ != nullptr) {
        gate_->leave();
    }
}

std::optional<UploadGate::Ticket> UploadGate::enter() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) {
        return std::nullopt;
    }
    ++open_;
    return std::optional<Ticket>(std::in_place, *this);
}

int UploadGate::close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    return open_;
}

int UploadGate::wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait_for(lock, timeout, [this] { return open_ == 0; });
    return open_;
}

void UploadGate::leave() {
    std::lock_guard<std::mutex> lock(mutex_);
    --open_;
    if (open_ == 0) {
        idle_.notify_all();
    }
}

}  // namespace tdc::http
