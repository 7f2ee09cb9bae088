#include "common/event_json.hpp"

#include <gtest/gtest.h>

namespace tdc {
namespace {

wire::Event event_of(bool truncated) {
    wire::Event event;
    event.view = "sales_current_second";
    event.table = "sales";
    event.seq = 7;
    event.as_of = "2026-01-02T03:04:05.000006Z";
    event.row_count = 3;
    event.columns = {"n"};
    event.rows = {{wire::Value::of_integer(1)}};
    event.truncated = truncated;
    return event;
}

// `sub` printed `truncated` only when true and never said a whole event was whole.
TEST(EventJsonTest, SaysTruncatedAndRowCountForWholeAndCutEvents) {
    auto whole = event_to_json(event_of(false));
    auto cut = event_to_json(event_of(true));

    ASSERT_TRUE(whole.contains("truncated"));
    EXPECT_EQ(whole["truncated"], false);
    EXPECT_EQ(cut["truncated"], true);
    EXPECT_EQ(cut["row_count"], 3);
    EXPECT_EQ(cut["rows"].size(), 1u);
}

TEST(EventJsonTest, CarriesEveryFieldOfTheEventButKindAndVersion) {
    auto json = event_to_json(event_of(false));

    for (const char* field :
         {"view", "table", "seq", "as_of", "row_count", "columns", "rows", "truncated"}) {
        EXPECT_TRUE(json.contains(field)) << field;
    }
    EXPECT_EQ(json.size(), 8u);
}

}  // namespace
}  // namespace tdc
