#include "csv/copy_text.hpp"

#include <gtest/gtest.h>

namespace tdc::csv {
namespace {

TEST(CopyText, EscapesControlCharactersAndMarksNulls) {
    std::string out;
    append_copy_line(out, {std::string("a\tb"), std::nullopt, std::string(""),
                           std::string("back\\slash\nnew\rline")});
    EXPECT_EQ(out, "a\\tb\t\\N\t\tback\\\\slash\\nnew\\rline\n");
}

TEST(CopyText, KeepsUtf8AndQuotesAsTheyAre) {
    std::string out;
    append_copy_line(out, {std::string("Zürich \"x\", ’y’")});
    EXPECT_EQ(out, "Zürich \"x\", ’y’\n");
}

}  // namespace
}  // namespace tdc::csv
