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

TEST(CopyBinary, CountsWholeTuplesOfTheRightWidth) {
    const std::string tuple("\0\2\0\0\0\1x\xFF\xFF\xFF\xFF", 11);  // ("x", NULL)
    EXPECT_EQ(binary_tuple_count("", 2), std::optional<std::size_t>(0));
    EXPECT_EQ(binary_tuple_count(tuple + tuple, 2), std::optional<std::size_t>(2));
    EXPECT_EQ(binary_tuple_count(tuple, 3), std::nullopt);
    EXPECT_EQ(binary_tuple_count(tuple + tuple.substr(0, 7), 2), std::nullopt);
    EXPECT_EQ(binary_tuple_count(std::string("\0\1\xFF\xFF\xFF\xFE", 6), 1), std::nullopt);
}

}  // namespace
}  // namespace tdc
