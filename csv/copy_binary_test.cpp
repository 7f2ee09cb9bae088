#include "csv/copy_binary.hpp"

#include <gtest/gtest.h>

namespace tdc::csv {
namespace {

// The tuple for one value of `type`, as bytes in hex, without the field count.
std::string field_of(Type type, const std::optional<std::string>& value) {
    Column column;
    column.name = "c";
    column.type = type;
    std::vector<char> out;
    if (!append_binary_row(out, {value}, {column})) {
        return "not of type";
    }
    std::string hex;
    static constexpr char kDigits[] = "0123456789abcdef";
    for (std::size_t i = 2; i < out.size(); ++i) {
        const auto byte = static_cast<unsigned char>(out[i]);
        hex +=
            std::string{kDigits[byte >> 4], kDigits[byte & 15]} + (i + 1 < out.size() ? " " : "");
    }
    return hex;
}

TEST(CopyBinary, ATupleStartsWithItsFieldCountAndNullIsMinusOne) {
    Column a{"a", "a", Type::Integer, Layout::AsIs};
    Column b{"b", "b", Type::Text, Layout::AsIs};
    std::vector<char> out;
    ASSERT_TRUE(append_binary_row(out, {std::nullopt, std::string("hé")}, {a, b}));
    EXPECT_EQ(std::string(out.begin(), out.end()),
              std::string("\0\2\xFF\xFF\xFF\xFF\0\0\0\3h\xC3\xA9", 13));
}

TEST(CopyBinary, IntegersAreBigEndianWithTheirSignAndLeadingZeros) {
    EXPECT_EQ(field_of(Type::Integer, "-5"), "00 00 00 04 ff ff ff fb");
    EXPECT_EQ(field_of(Type::Integer, "+007"), "00 00 00 04 00 00 00 07");
    EXPECT_EQ(field_of(Type::Integer, "-2147483648"), "00 00 00 04 80 00 00 00");
    EXPECT_EQ(field_of(Type::Bigint, "9223372036854775807"), "00 00 00 08 7f ff ff ff ff ff ff ff");
    EXPECT_EQ(field_of(Type::Integer, "2147483648"), "not of type");
}

TEST(CopyBinary, NumericsKeepTheirScaleInBase10000Digits) {
    // length, ndigits, weight, sign, dscale, digits
    EXPECT_EQ(field_of(Type::Numeric, "1.50"), "00 00 00 0c 00 02 00 00 00 00 00 02 00 01 13 88");
    EXPECT_EQ(field_of(Type::Numeric, "-1e3"), "00 00 00 0a 00 01 00 00 40 00 00 00 03 e8");
    EXPECT_EQ(field_of(Type::Numeric, ".5"), "00 00 00 0a 00 01 ff ff 00 00 00 01 13 88");
    EXPECT_EQ(field_of(Type::Numeric, "12345.6789e-2"),
              "00 00 00 0e 00 03 00 00 00 00 00 06 00 7b 11 d7 22 c4");
}

TEST(CopyBinary, DatesAndTimesCountFromTwoThousand) {
    EXPECT_EQ(field_of(Type::Date, "2000-01-01"), "00 00 00 04 00 00 00 00");
    EXPECT_EQ(field_of(Type::Date, "1999-12-31"), "00 00 00 04 ff ff ff ff");
    EXPECT_EQ(field_of(Type::Timestamp, "2000-01-01 00:00:01.5"),
              "00 00 00 08 00 00 00 00 00 16 e3 60");
    EXPECT_EQ(field_of(Type::Timestamp, "2000-01-02"), "00 00 00 08 00 00 00 14 1d d7 60 00");
    EXPECT_EQ(field_of(Type::TimestampTz, "2000-01-01T05:30+05:30"),
              "00 00 00 08 00 00 00 00 00 00 00 00");
    EXPECT_EQ(field_of(Type::TimestampTz, "2000-01-01 00:00:00Z"),
              "00 00 00 08 00 00 00 00 00 00 00 00");
    EXPECT_EQ(field_of(Type::TimestampTz, "2000-01-01 00:00"), "not of type");
}

TEST(CopyBinary, ARowWithAValueOfAnotherTypeLeavesTheBlockAsItWas) {
    Column n{"n", "n", Type::Integer, Layout::AsIs};
    std::vector<char> out;
    ASSERT_TRUE(append_binary_row(out, {std::string("1")}, {n}));
    const std::vector<char> before = out;
    EXPECT_FALSE(append_binary_row(out, {std::string("x")}, {n}));
    EXPECT_EQ(out, before);
}

TEST(CopyBinary, TimestampTzForcedOnAColumnGoesAsText) {
    Column at{"at", "at", Type::TimestampTz, Layout::AsIs};
    Options options;
    EXPECT_TRUE(binary_copy_fits({at}, options));
    options.types["at"] = Type::TimestampTz;
    EXPECT_FALSE(binary_copy_fits({at}, options));
}

}  // namespace
}  // namespace tdc::csv
