#include "common/stop.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace tdc {

StopSignal::StopSignal() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd_ < 0) {
        throw std::runtime_error(std::string("signalfd failed: ") + std::strerror(errno));
    }
}

StopSignal::StopSignal(OnRequest) : by_request_(true) {
    fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd_ < 0) {
        throw std::runtime_error(std::string("eventfd failed: ") + std::strerror(errno));
    }
}

StopSignal::~StopSignal() {
    if (fd_ >= 0) {
        close(fd_);
    }
}

zmq::pollitem_t StopSignal::poll_item() const {
    return {nullptr, fd_, ZMQ_POLLIN, 0};
}

bool StopSignal::requested() {
    if (by_request_) {
        return stopped_.load();
    }
    signalfd_siginfo info;
    while (read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        stopped_ = true;
    }
    return stopped_.load();
}

bool StopSignal::wait_for(std::chrono::milliseconds duration) {
    if (requested()) {
        return true;
    }
    pollfd item{fd_, POLLIN, 0};
    poll(&item, 1, static_cast<int>(duration.count()));
    return requested();
}

void StopSignal::request() {
    if (!by_request_ || stopped_.exchange(true)) {
        return;
    }
    // The counter is never read back: the descriptor stays readable for every poller.
    std::uint64_t one = 1;
    (void)write(fd_, &one, sizeof one);
}

}  // namespace tdc
