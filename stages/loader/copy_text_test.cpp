#include "stages/loader/copy_text.hpp"

#include <gtest/gtest.h>

namespace tdc {
namespace {

TEST(CopyText, CountsNewlineTerminatedLines) {
    EXPECT_EQ(copy_line_count(""), std::optional<std::size_t>(0));
    EXPECT_EQ(copy_line_count("1\ta\n2\t\\N\n"), std::optional<std::size_t>(2));
    EXPECT_EQ(copy_line_count("a\\nb\n"), std::optional<std::size_t>(1));
}

TEST(CopyText, RefusesABlockCutInsideALine) {
    EXPECT_EQ(copy_line_count("1\ta\n2\tb"), std::nullopt);
}

}  // namespace
}  // namespace tdc
