#include "stages/view/view.hpp"

#include <gtest/gtest.h>

namespace tdc {
namespace {

TEST(ReferenceView, MatchesTheFirstIntegerColumnAgainstTheSecondsLastDigit) {
    auto view = reference_view(
        "reference", {{"label", "text"}, {"AColumnOfNumbers", "integer"}, {"other", "bigint"}});
    EXPECT_EQ(view.name, "reference_current_second");
    EXPECT_TRUE(view.reason.empty());
    EXPECT_NE(view.sql.find("FROM \"reference\" WHERE \"AColumnOfNumbers\" = "
                            "floor(extract(second FROM now() AT TIME ZONE 'UTC'))::int % 10"),
              std::string::npos)
        << view.sql;
}

TEST(ReferenceView, TableWithoutIntegerColumnGetsAReason) {
    auto view = reference_view("names", {{"name", "text"}, {"price", "numeric"}});
    EXPECT_TRUE(view.sql.empty());
    EXPECT_NE(view.reason.find("no integer column"), std::string::npos);
}

TEST(ReferenceView, NameStaysWithin63BytesOnACharacterBoundary) {
    std::string table(47, 'a');
    table += "é";  // bytes 48-49 straddle the 48-byte cut
    auto view = reference_view(table, {{"n", "integer"}});
    EXPECT_LE(view.name.size(), 63u);
    EXPECT_EQ(view.name, std::string(47, 'a') + "_current_second");
}

TEST(ReferenceView, QuotesIdentifiers) {
    auto view = reference_view("t\"x", {{"a\"b", "integer"}});
    EXPECT_NE(view.sql.find("FROM \"t\"\"x\" WHERE \"a\"\"b\""), std::string::npos) << view.sql;
}

}  // namespace
}  // namespace tdc
