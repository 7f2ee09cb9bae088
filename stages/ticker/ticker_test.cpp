#include "stages/ticker/ticker.hpp"

#include <gtest/gtest.h>

namespace tdc {
namespace {

TEST(Ticker, NextTickIsTheNextBoundaryStrictlyAfterNow) {
    EXPECT_EQ(Ticker::next_tick(1'796'310'245'000, 1000), 1'796'310'246);
    EXPECT_EQ(Ticker::next_tick(1'796'310'245'999, 1000), 1'796'310'246);
    EXPECT_EQ(Ticker::next_tick(1'796'310'245'001, 1000), 1'796'310'246);
}

TEST(Ticker, OtherIntervalsCountTheirOwnBoundaries) {
    EXPECT_EQ(Ticker::next_tick(1250, 500), 3);  // the boundary at 1500 ms
    EXPECT_EQ(Ticker::next_tick(0, 250), 1);
}

TEST(Ticker, LeadIsAtMostAQuarterOfTheInterval) {
    EXPECT_EQ(Ticker::lead_ms(1000), kTickLeadMs);
    EXPECT_EQ(Ticker::lead_ms(100), 25);  // the next tick is sent after this one's boundary
    EXPECT_EQ(Ticker::lead_ms(10), 2);
}

}  // namespace
}  // namespace tdc
