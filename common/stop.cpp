#include "common/stop.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
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

StopSignal::~StopSignal() {
    if (fd_ >= 0) {
        close(fd_);
    }
}

zmq::pollitem_t StopSignal::poll_item() const {
    return {nullptr, fd_, ZMQ_POLLIN, 0};
}

bool StopSignal::requested() {
    signalfd_siginfo info;
    while (read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        stopped_ = true;
    }
    return stopped_;
}

bool StopSignal::wait_for(std::chrono::milliseconds duration) {
    if (requested()) {
        return true;
    }
    pollfd item{fd_, POLLIN, 0};
    poll(&item, 1, static_cast<int>(duration.count()));
    return requested();
}

}  // namespace tdc
