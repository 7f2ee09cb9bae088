#include "http/upload_gate.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace tdc::http {
namespace {

using std::chrono::milliseconds;

TEST(UploadGate, AdmitsUntilClosedThenRefuses) {
    UploadGate gate;
    auto first = gate.enter();
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(gate.close(), 1);
    EXPECT_FALSE(gate.enter().has_value());
}

TEST(UploadGate, WaitReturnsOnceTheAdmittedUploadsEnd) {
    UploadGate gate;
    auto ticket = gate.enter();
    gate.close();
    std::thread upload([&ticket] {
        std::this_thread::sleep_for(milliseconds(50));
        ticket.reset();
    });
    EXPECT_EQ(gate.wait(milliseconds(5000)), 0);
    upload.join();
}

TEST(UploadGate, WaitGivesUpAfterItsTimeoutAndSaysHowManyAreLeft) {
    UploadGate gate;
    auto one = gate.enter();
    auto two = gate.enter();
    gate.close();
    EXPECT_EQ(gate.wait(milliseconds(20)), 2);
}

TEST(UploadGate, AMovedTicketLeavesOnce) {
    UploadGate gate;
    {
        auto ticket = gate.enter();
        UploadGate::Ticket moved(std::move(*ticket));
    }
    EXPECT_EQ(gate.close(), 0);
}

}  // namespace
}  // namespace tdc::http
