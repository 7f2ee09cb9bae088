// The broker's share of CurveZMQ: its Gatekeeper and what a subscriber may do on the bus.
// Which keys get in is decided in gatekeeper.cpp.
#include "broker/broker.hpp"

namespace tdc {

void Broker::start_gatekeeper(zmq::context_t& context, std::optional<BrokerSecurity> security) {
    if (!security) {
        return;
    }
    gatekeeper_ = std::make_unique<Gatekeeper>(context, std::move(*security), log_);
    gatekeeper_->watch(events_in_, "events_in");
    gatekeeper_->watch(events_out_, "events_out");
    gatekeeper_->start();
}

// A subscriber's key opens the bus for replay requests only: it must not serve a service or
// send uploads. Its connection carries the user id the Gatekeeper gave it.
bool Broker::admitted_on_bus(const std::string& sender, std::vector<zmq::message_t>& frames) {
    if (!gatekeeper_ || frames.empty()) {
        return true;
    }
    const char* user = zmq_msg_gets(frames.back().handle(), "User-Id");
    if (user == nullptr || std::string(user) != kSubscriberUser) {
        return true;
    }
    std::string refusal = subscriber_bus_refusal(frames);
    if (refusal.empty()) {
        return true;
    }
    std::size_t suppressed = 0;
    if (refusals_.allow(sender + refusal, suppressed)) {
        log_->warn("bus message refused sender={} reason=\"{}\" suppressed={}", sender, refusal,
                   suppressed);
    }
    return false;
}

}  // namespace tdc
