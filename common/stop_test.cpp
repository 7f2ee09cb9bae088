// The stop signal a supervisor fires by hand for one stage thread (StopSignal::OnRequest).
#include "common/stop.hpp"

#include <thread>

#include <gtest/gtest.h>

namespace tdc {
namespace {

// Whether the poll item of `stop` is readable, waiting up to `timeout`.
bool readable(const StopSignal& stop, std::chrono::milliseconds timeout) {
    zmq::pollitem_t item = stop.poll_item();
    zmq::poll(&item, 1, timeout);
    return (item.revents & ZMQ_POLLIN) != 0;
}

TEST(StopSignalOnRequest, FiresOnlyWhenRequestedAndStaysFired) {
    StopSignal stop{StopSignal::OnRequest{}};
    EXPECT_FALSE(stop.requested());
    EXPECT_FALSE(readable(stop, std::chrono::milliseconds(0)));

    stop.request();

    EXPECT_TRUE(stop.requested());
    EXPECT_TRUE(stop.wait_for(std::chrono::milliseconds(0)));
    // Reading it does not consume it: every poller of the stage keeps seeing it.
    EXPECT_TRUE(readable(stop, std::chrono::milliseconds(0)));
    EXPECT_TRUE(readable(stop, std::chrono::milliseconds(0)));
    stop.request();  // a second request changes nothing
    EXPECT_TRUE(stop.requested());
}

TEST(StopSignalOnRequest, ARequestFromAnotherThreadWakesAPoller) {
    StopSignal stop{StopSignal::OnRequest{}};
    std::thread requester([&] { stop.request(); });

    bool woke = readable(stop, std::chrono::seconds(10));
    requester.join();

    EXPECT_TRUE(woke);
    EXPECT_TRUE(stop.requested());
}

TEST(StopSignalOnRequest, EachSignalFiresAlone) {
    StopSignal first{StopSignal::OnRequest{}};
    StopSignal second{StopSignal::OnRequest{}};

    first.request();

    EXPECT_TRUE(first.requested());
    EXPECT_FALSE(second.requested());
    EXPECT_FALSE(readable(second, std::chrono::milliseconds(0)));
}

}  // namespace
}  // namespace tdc
