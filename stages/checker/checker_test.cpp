#include "stages/checker/checker.hpp"

#include <gtest/gtest.h>

namespace tdc {
namespace {

std::vector<wire::Value> text_row(std::size_t bytes) {
    return {wire::Value::of_text(std::string(bytes, 'x'))};
}

TEST(EventBudget, AdmitsEveryRowWithinTheCaps) {
    EventBudget budget(EventCaps{3, 1000});
    EXPECT_TRUE(budget.admit({wire::Value::of_integer(1), wire::Value{}}));
    EXPECT_TRUE(budget.admit(text_row(100)));
    EXPECT_TRUE(budget.admit(text_row(100)));
}

TEST(EventBudget, StopsAtTheRowCap) {
    EventBudget budget(EventCaps{2, 1000});
    EXPECT_TRUE(budget.admit(text_row(1)));
    EXPECT_TRUE(budget.admit(text_row(1)));
    EXPECT_FALSE(budget.admit(text_row(1)));
}

TEST(EventBudget, StopsAtTheByteCapCountingTextAndScalars) {
    EventBudget budget(EventCaps{100, 100});
    EXPECT_TRUE(budget.admit(text_row(50)));  // 55 bytes: text plus 5
    EXPECT_TRUE(budget.admit({wire::Value::of_float(1.5), wire::Value::of_boolean(true)}));  // 73
    EXPECT_FALSE(budget.admit(text_row(30)));  // 73 + 35 > 100
}

TEST(EventBudget, NoRowFitsAfterOneDidNot) {
    EventBudget budget(EventCaps{100, 100});
    EXPECT_TRUE(budget.admit(text_row(10)));
    EXPECT_FALSE(budget.admit(text_row(200)));
    EXPECT_FALSE(budget.admit(text_row(1)));  // would fit alone: rows stay a prefix
}

TEST(EventBudget, AValueOfTensOfKilobytesFitsTheDefaultCaps) {
    EventBudget budget(EventCaps::of(EventsConfig{}));
    EXPECT_TRUE(budget.admit(text_row(60000)));
}

}  // namespace
}  // namespace tdc
