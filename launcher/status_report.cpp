#include "launcher/status_report.hpp"

#include <unistd.h>

#include "common/sockets.hpp"
#include "common/wire.hpp"

namespace tdc {

StatusReporter::StatusReporter(zmq::context_t& context, const std::string& endpoint)
    : socket_(client_socket(context, zmq::socket_type::dealer)) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::immediate, 1);  // no queue towards a broker that is not there
    socket_.set(zmq::sockopt::sndhwm, 4);
    socket_.connect(endpoint);
}

void StatusReporter::report_if_due(const nlohmann::json& stages) {
    auto now = std::chrono::steady_clock::now();
    if (now < next_) {
        return;
    }
    next_ = now + kInterval;

    char host[64] = {0};
    gethostname(host, sizeof host - 1);
    nlohmann::json report = {{"kind", "launcher_report"},
                             {"v", wire::kVersion},
                             {"host", host},
                             {"pid", getpid()},
                             {"stages", stages}};
    wire::Route route;
    route.service = "broker";
    std::vector<std::uint8_t> body = nlohmann::json::to_msgpack(report);
    if (socket_.send(wire::encode(route), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        (void)socket_.send(zmq::buffer(body), zmq::send_flags::dontwait);
    }
}

}  // namespace tdc
