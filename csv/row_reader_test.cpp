#include <gtest/gtest.h>

#include "csv/csv.hpp"
#include "csv/test_util.hpp"

namespace tdc::csv {
namespace {

using testing::decoded;
using testing::planned;
using testing::Rows;
using testing::rows_of;

TEST(RowReader, EmptyIsNullExceptQuotedEmptyText) {
    EXPECT_EQ(rows_of("n,t\n1,a\n,\n\"\",\"\"\n"),
              (Rows{{"1", "a"}, {std::nullopt, std::nullopt}, {std::nullopt, ""}}));
}

TEST(RowReader, ValuesAreNotCopyEscaped) {
    EXPECT_EQ(rows_of("t\n\"a\\b\tc\r\nd\"\n\\N\n"), (Rows{{"a\\b\tc\r\nd"}, {"\\N"}}));
}

TEST(RowReader, LinesOfRecordsAfterMultiLineFields) {
    const std::string text = "id,note\n1,\"two\nlines\"\n2,x\n3,\"a\rb\"\n4,y";
    const Document document = decoded(text);
    const Plan plan = planned(text);
    RowReader reader(document, plan);
    std::vector<std::optional<std::string>> values;
    std::vector<std::size_t> lines;
    while (reader.next(values)) {
        lines.push_back(reader.line());
    }
    EXPECT_EQ(lines, (std::vector<std::size_t>{2, 4, 5, 7}));
}

TEST(RowReader, ReusesTheValuesVector) {
    const std::string text = "a,b\n1,x\n,y\n";
    const Document document = decoded(text);
    const Plan plan = planned(text);
    RowReader reader(document, plan);
    std::vector<std::optional<std::string>> values{"stale", "stale", "extra"};
    ASSERT_TRUE(reader.next(values));
    EXPECT_EQ(values, (std::vector<std::optional<std::string>>{"1", "x"}));
    ASSERT_TRUE(reader.next(values));
    EXPECT_EQ(values, (std::vector<std::optional<std::string>>{std::nullopt, "y"}));
    EXPECT_FALSE(reader.next(values));
}

TEST(RowReader, ToleratesRecordsShorterThanThePlan) {
    // Not reachable through analyze(), which refuses ragged rows; the reader still stays defined.
    const Document document = decoded("a,b\n1\n");
    Plan plan;
    plan.columns = {Column{"a", "a", Type::Integer}, Column{"b", "b", Type::Text}};
    RowReader reader(document, plan);
    std::vector<std::optional<std::string>> values;
    ASSERT_TRUE(reader.next(values));
    EXPECT_EQ(values, (std::vector<std::optional<std::string>>{"1", std::nullopt}));
}

}  // namespace
}  // namespace tdc::csv
