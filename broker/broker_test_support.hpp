// Helpers shared by the broker's tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

namespace tdc::test {

// `count` different TCP ports nobody listens on now: the kernel's picks for port 0, each held
// until all are picked (released at once, the kernel may hand the same port out again).
inline std::vector<int> free_ports(int count) {
    std::vector<int> fds;
    std::vector<int> ports;
    for (int i = 0; i < count; ++i) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof address;
        bind(fd, reinterpret_cast<sockaddr*>(&address), size);
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
        fds.push_back(fd);
        ports.push_back(ntohs(address.sin_port));
    }
    for (int fd : fds) {
        close(fd);
    }
    return ports;
}

inline int free_port() {
    return free_ports(1).front();
}

}  // namespace tdc::test
