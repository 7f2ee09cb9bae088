#include "csv/values.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tdc::csv {
namespace {

TEST(Values, IntegerWidthAtTheInt32Boundaries) {
    EXPECT_EQ(integer_width("2147483647"), IntWidth::Int32);
    EXPECT_EQ(integer_width("2147483648"), IntWidth::Int64);
    EXPECT_EQ(integer_width("-2147483648"), IntWidth::Int32);
    EXPECT_EQ(integer_width("-2147483649"), IntWidth::Int64);
    EXPECT_EQ(integer_width("+5"), IntWidth::Int32);
    EXPECT_EQ(integer_width("-0"), IntWidth::Int32);
}

TEST(Values, IntegerWidthAtTheInt64Boundaries) {
    EXPECT_EQ(integer_width("9223372036854775807"), IntWidth::Int64);
    EXPECT_EQ(integer_width("9223372036854775808"), IntWidth::Wider);
    EXPECT_EQ(integer_width("-9223372036854775808"), IntWidth::Int64);
    EXPECT_EQ(integer_width("-9223372036854775809"), IntWidth::Wider);
    EXPECT_EQ(integer_width("18446744073709551616"), IntWidth::Wider);
    EXPECT_EQ(integer_width("99999999999999999999999"), IntWidth::Wider);
    EXPECT_EQ(integer_width("0000000000000000000000000001"), IntWidth::Int32);
}

TEST(Values, IntegerWidthRefusesNonIntegers) {
    for (const char* value : {"", "-", "+", "1.0", "1e3", "1 ", " 1", "0x10", "1-2"}) {
        EXPECT_EQ(integer_width(value), IntWidth::None) << value;
    }
}

TEST(Values, PlainDecimals) {
    for (const char* value : {"1.5", "-0.25", "1e3", "1E+10", "2.5e-3", ".5", "5.", "+7", "1e1000",
                              "1e-1000", "1e0001"}) {
        EXPECT_TRUE(is_plain_decimal(value)) << value;
    }
    for (const char* value : {"", ".", "-", "e3", "1e", "1e+", "1.2.3", "NaN", "Infinity", "1,5",
                              "1e1001", "1 ", "--1"}) {
        EXPECT_FALSE(is_plain_decimal(value)) << value;
    }
    EXPECT_FALSE(is_plain_decimal(std::string(kMaxNumberLength + 1, '1')));
    EXPECT_TRUE(is_plain_decimal(std::string(kMaxNumberLength, '1')));
}

TEST(Values, CommaDecimals) {
    for (const char* value : {"1.234,56", "7,5", "-1.234.567,8", "1.234", "1234,5", "0,5", "12"}) {
        EXPECT_TRUE(is_comma_decimal(value)) << value;
    }
    for (const char* value : {"1.5", "1234.567", "1.23,4", ",5", "1,", "1.234,", "1,2,3"}) {
        EXPECT_FALSE(is_comma_decimal(value)) << value;
    }
}

TEST(Values, RedundantLeadingZeros) {
    for (const char* value : {"007", "02134", "-01", "00.5", "00,5", "+00"}) {
        EXPECT_TRUE(has_redundant_zero(value)) << value;
    }
    for (const char* value : {"0", "-0", "0.5", ".5", "0e5", "10", "0,5"}) {
        EXPECT_FALSE(has_redundant_zero(value)) << value;
    }
}

TEST(Values, BoolWordsInAnyCase) {
    EXPECT_EQ(parse_bool_word("TRUE"), true);
    EXPECT_EQ(parse_bool_word("t"), true);
    EXPECT_EQ(parse_bool_word("Yes"), true);
    EXPECT_EQ(parse_bool_word("False"), false);
    EXPECT_EQ(parse_bool_word("F"), false);
    EXPECT_EQ(parse_bool_word("nO"), false);
    for (const char* value : {"1", "0", "y", "n", "on", "off", "truth", ""}) {
        EXPECT_EQ(parse_bool_word(value), std::nullopt) << value;
    }
}

TEST(Values, IsoDatesMustBeRealDays) {
    for (const char* value :
         {"2021-02-28", "2020-02-29", "2000-02-29", "0001-01-01", "9999-12-31"}) {
        EXPECT_TRUE(parse_iso_date(value)) << value;
    }
    for (const char* value :
         {"2021-02-29", "1900-02-29", "2021-02-30", "2021-04-31", "2021-13-01", "2021-00-10",
          "2021-01-00", "0000-01-01", "2021-1-01", "2021/01/01", "21-01-01"}) {
        EXPECT_FALSE(parse_iso_date(value)) << value;
    }
}

TEST(Values, IsoDateTimes) {
    for (const char* value : {"2021-01-01T10:00", "2021-01-01 10:00:00", "2021-01-01T23:59:59.5",
                              "2021-01-01 00:00:00.123456789"}) {
        EXPECT_EQ(parse_iso_datetime(value), Clock::Naive) << value;
    }
    for (const char* value :
         {"2021-01-01T10:00Z", "2021-01-01T10:00:00z", "2021-01-01 10:00+02",
          "2021-01-01T10:00:00+0200", "2021-01-01T10:00:00-05:30", "2021-01-01T10:00:00.5+15:59"}) {
        EXPECT_EQ(parse_iso_datetime(value), Clock::Zoned) << value;
    }
    for (const char* value : {"2021-01-01", "2021-01-01T10", "2021-01-01T24:00", "2021-01-01T10:60",
                              "2021-01-01T10:00:60", "2021-01-01T10:00:00.", "2021-02-30T10:00",
                              "2021-01-01T10:00:00.1234567890", "2021-01-01T10:00 +02:00",
                              "2021-01-01T10:00+16:00", "2021-01-01T10:00+02:60",
                              "2021-01-01T10:00+2", "2021-01-01X10:00", "2021-01-01T10:00UTC"}) {
        EXPECT_EQ(parse_iso_datetime(value), Clock::None) << value;
    }
}

TEST(Values, SlashDates) {
    const auto date = parse_slash_date("31/12/2012");
    ASSERT_TRUE(date);
    EXPECT_EQ(date->first, 31);
    EXPECT_EQ(date->second, 12);
    EXPECT_EQ(date->year, 2012);
    EXPECT_TRUE(parse_slash_date("1/2/2012"));
    for (const char* value : {"1/2/12", "123/1/2012", "1/2/20120", "1-2-2012", "/1/2012", "1//2012",
                              "a/b/cdef", "1/2/201a"}) {
        EXPECT_FALSE(parse_slash_date(value)) << value;
    }
}

TEST(Values, Rewrites) {
    std::string out;
    append_iso_date(CivilDate{12, 3, 4}, out);
    EXPECT_EQ(out, "0012-03-04");
    out.clear();
    append_comma_as_point("-1.234.567,89", out);
    EXPECT_EQ(out, "-1234567.89");
}

}  // namespace
}  // namespace tdc::csv
