#include <gtest/gtest.h>

#include "csv/csv.hpp"
#include "csv/test_util.hpp"

namespace tdc::csv {
namespace {

using testing::column_of;
using testing::rejected;
using testing::types_of;
using testing::Value;
using Types = std::vector<Type>;
using Values = std::vector<Value>;

// A one-column CSV with header "v" and one value per line.
std::string column(std::initializer_list<const char*> values) {
    std::string text = "v\n";
    for (const char* value : values) {
        text += value;
        text += '\n';
    }
    return text;
}

Type type_of(std::initializer_list<const char*> values, const Options& options = {}) {
    const Types types = types_of(column(values), options);
    return types.empty() ? Type::Text : types[0];
}

Options forcing(Type type) {
    Options options;
    options.types["v"] = type;
    return options;
}

TEST(Infer, IntegersUpToInt32) {
    EXPECT_EQ(type_of({"0", "1", "-5", "+7"}), Type::Integer);
    EXPECT_EQ(type_of({"2147483647", "-2147483648"}), Type::Integer);
}

TEST(Infer, BigintBeyondInt32) {
    EXPECT_EQ(type_of({"1", "2147483648"}), Type::Bigint);
    EXPECT_EQ(type_of({"-2147483649"}), Type::Bigint);
    EXPECT_EQ(type_of({"9223372036854775807", "-9223372036854775808"}), Type::Bigint);
}

TEST(Infer, NumericBeyondInt64AndForDecimals) {
    EXPECT_EQ(type_of({"9223372036854775808"}), Type::Numeric);
    EXPECT_EQ(type_of({"-9223372036854775809"}), Type::Numeric);
    EXPECT_EQ(type_of({"1.5", "-0.25", "1e3", "7"}), Type::Numeric);
    EXPECT_EQ(type_of({"0.5", "0"}), Type::Numeric);
}

TEST(Infer, RedundantLeadingZeroMakesText) {
    EXPECT_EQ(type_of({"007", "1"}), Type::Text);
    EXPECT_EQ(type_of({"02134", "90210"}), Type::Text);
    EXPECT_EQ(type_of({"00.5"}), Type::Text);
    EXPECT_EQ(type_of({"0", "-0", "10"}), Type::Integer);
}

TEST(Infer, BooleansInAnyCase) {
    EXPECT_EQ(type_of({"true", "FALSE", "t", "F", "Yes", "no"}), Type::Boolean);
    EXPECT_EQ(column_of(column({"TRUE", "f", "yes", "No"}), 0),
              (Values{"true", "false", "true", "false"}));
}

TEST(Infer, ZeroAndOneStayIntegers) {
    EXPECT_EQ(type_of({"0", "1", "1"}), Type::Integer);
    EXPECT_EQ(type_of({"true", "1"}), Type::Text);
}

TEST(Infer, IsoDatesMustBeRealDays) {
    EXPECT_EQ(type_of({"2021-02-28", "2020-02-29"}), Type::Date);
    EXPECT_EQ(type_of({"2021-02-28", "2021-02-30"}), Type::Text);
}

TEST(Infer, IsoDateTimesAreTimestamps) {
    EXPECT_EQ(type_of({"2021-01-01T10:00:00", "2021-01-02 11:30"}), Type::Timestamp);
    EXPECT_EQ(type_of({"2021-01-01", "2021-01-02 11:30:00.25"}), Type::Timestamp);
    EXPECT_EQ(type_of({"2021-01-01T25:00:00"}), Type::Text);
}

TEST(Infer, TimestampWithTimeZoneOnlyWhenEveryValueHasAnOffset) {
    EXPECT_EQ(type_of({"2021-01-01T10:00:00Z", "2021-01-01 10:00+02:00", "2021-06-01T10:00-0500"}),
              Type::TimestampTz);
    EXPECT_EQ(type_of({"2021-01-01T10:00:00Z", "2021-01-01T10:00:00"}), Type::Text);
    EXPECT_EQ(type_of({"2021-01-01T10:00:00Z", "2021-01-01"}), Type::Text);
}

TEST(Infer, DayFirstSlashDatesSettledByADayAbove12) {
    const std::string text = column({"01/02/2012", "31/12/2012", "5/6/2012"});
    EXPECT_EQ(types_of(text), Types{Type::Date});
    EXPECT_EQ(column_of(text, 0), (Values{"2012-02-01", "2012-12-31", "2012-06-05"}));
}

TEST(Infer, MonthFirstSlashDatesSettledByASecondNumberAbove12) {
    const std::string text = column({"01/02/2012", "12/31/2012"});
    EXPECT_EQ(types_of(text), Types{Type::Date});
    EXPECT_EQ(column_of(text, 0), (Values{"2012-01-02", "2012-12-31"}));
}

TEST(Infer, UnsettledOrDisagreeingSlashDatesAreText) {
    EXPECT_EQ(type_of({"01/02/2012", "03/04/2012"}), Type::Text);
    EXPECT_EQ(type_of({"31/12/2012", "12/31/2012"}), Type::Text);
    EXPECT_EQ(type_of({"31/12/2012", "31/02/2012"}), Type::Text);
    EXPECT_EQ(type_of({"31/12/2012", "2012-12-30"}), Type::Text);
}

TEST(Infer, ColumnWithoutValuesIsText) {
    EXPECT_EQ(types_of("a,b\n,1\n\"\",2\n"), (Types{Type::Text, Type::Integer}));
}

TEST(Infer, EmptyValuesDoNotDecideTheType) {
    EXPECT_EQ(types_of("a,b\n1,\n,x\n2,\n"), (Types{Type::Integer, Type::Text}));
}

TEST(Infer, AnythingElseIsText) {
    EXPECT_EQ(type_of({"1", "2", "three"}), Type::Text);
    EXPECT_EQ(type_of({" 1"}), Type::Text);
    EXPECT_EQ(type_of({"NaN"}), Type::Text);
}

TEST(Infer, DecimalCommaIsTextUnlessAsked) {
    EXPECT_EQ(types_of("p;q\n1.234,56;1\n7,5;2\n"), (Types{Type::Text, Type::Integer}));

    Options options;
    options.decimal_comma = true;
    const std::string text = "p;q;r\n1.234,56;1;1.5\n7,5;2;2\n-1.000;3;3\n";
    EXPECT_EQ(types_of(text, options), (Types{Type::Numeric, Type::Integer, Type::Text}));
    EXPECT_EQ(column_of(text, 0, options), (Values{"1234.56", "7.5", "-1000"}));
}

TEST(Infer, ForcedTextKeepsValuesAsWritten) {
    const std::string text = column({"007", "", "\"\""});
    EXPECT_EQ(types_of(text, forcing(Type::Text)), Types{Type::Text});
    EXPECT_EQ(column_of(text, 0, forcing(Type::Text)), (Values{"007", std::nullopt, ""}));
}

TEST(Infer, ForcedTypesAreLaxerThanInference) {
    EXPECT_EQ(type_of({"007", "1"}, forcing(Type::Integer)), Type::Integer);
    EXPECT_EQ(type_of({"1", "2"}, forcing(Type::Numeric)), Type::Numeric);
    EXPECT_EQ(type_of({"2021-01-01"}, forcing(Type::Timestamp)), Type::Timestamp);
    EXPECT_EQ(type_of({"2021-01-01 10:00"}, forcing(Type::TimestampTz)), Type::TimestampTz);
    EXPECT_EQ(column_of(column({"0", "1", "yes"}), 0, forcing(Type::Boolean)),
              (Values{"false", "true", "true"}));
    EXPECT_EQ(column_of(column({"31/12/2012"}), 0, forcing(Type::Timestamp)),
              (Values{"2012-12-31"}));
}

TEST(Infer, ForcedTypeOnAnEmptyColumn) {
    EXPECT_EQ(types_of("v,w\n,1\n", forcing(Type::Date)), (Types{Type::Date, Type::Integer}));
}

TEST(Infer, ForcedTypeThatAValueCannotTakeIsRefused) {
    const Rejection rejection = rejected(column({"1", "2", "abc", "zzz"}), forcing(Type::Integer));
    EXPECT_EQ(rejection.error, "bad_value");
    EXPECT_EQ(rejection.detail,
              "Column \"v\" is given type integer, but line 4 holds \"abc\", which is not a whole "
              "number within 32 bits.");
    EXPECT_EQ(rejected(column({"2147483648"}), forcing(Type::Integer)).error, "bad_value");
    EXPECT_EQ(rejected(column({"2021-01-01T10:00Z"}), forcing(Type::Timestamp)).error, "bad_value");
}

TEST(Infer, ForcedDateWithUnsettledOrderIsRefused) {
    const Rejection rejection = rejected(column({"01/02/2012"}), forcing(Type::Date));
    EXPECT_EQ(rejection.error, "bad_value");
    EXPECT_NE(rejection.detail.find("day/month order"), std::string::npos) << rejection.detail;
}

TEST(Infer, ForcedDateNamesTheValueBreakingTheMajorityFormat) {
    const Rejection rejection =
        rejected(column({"2021-01-01", "2021-01-02", "junk"}), forcing(Type::Date));
    EXPECT_NE(rejection.detail.find("line 4 holds \"junk\""), std::string::npos)
        << rejection.detail;
}

TEST(Infer, OverrideForAnUnknownColumnIsRefused) {
    Options options;
    options.types["nope"] = Type::Integer;
    const Rejection rejection = rejected("a,b\n1,2\n", options);
    EXPECT_EQ(rejection.error, "bad_type_override");
    EXPECT_NE(rejection.detail.find("\"nope\""), std::string::npos) << rejection.detail;
}

TEST(Infer, OverridesUseFinalColumnNames) {
    Options options;
    options.types["name_2"] = Type::Integer;
    options.types["column_2"] = Type::Bigint;
    EXPECT_EQ(types_of("name,,name\nx,1,2\n", options),
              (Types{Type::Text, Type::Bigint, Type::Integer}));
}

TEST(TypeNames, SqlSpellings) {
    EXPECT_EQ(sql_name(Type::Integer), "integer");
    EXPECT_EQ(sql_name(Type::Bigint), "bigint");
    EXPECT_EQ(sql_name(Type::Numeric), "numeric");
    EXPECT_EQ(sql_name(Type::Boolean), "boolean");
    EXPECT_EQ(sql_name(Type::Date), "date");
    EXPECT_EQ(sql_name(Type::Timestamp), "timestamp without time zone");
    EXPECT_EQ(sql_name(Type::TimestampTz), "timestamp with time zone");
    EXPECT_EQ(sql_name(Type::Text), "text");
}

TEST(TypeNames, ParsedForOverrides) {
    for (const Type type : {Type::Integer, Type::Bigint, Type::Numeric, Type::Boolean, Type::Date,
                            Type::Timestamp, Type::TimestampTz, Type::Text}) {
        EXPECT_EQ(type_from_sql_name(sql_name(type)), type);
    }
    EXPECT_EQ(type_from_sql_name("INT"), Type::Integer);
    EXPECT_EQ(type_from_sql_name("int4"), Type::Integer);
    EXPECT_EQ(type_from_sql_name("int8"), Type::Bigint);
    EXPECT_EQ(type_from_sql_name("Bool"), Type::Boolean);
    EXPECT_EQ(type_from_sql_name("timestamp"), Type::Timestamp);
    EXPECT_EQ(type_from_sql_name("TimestampTZ"), Type::TimestampTz);
    EXPECT_EQ(type_from_sql_name("varchar"), std::nullopt);
    EXPECT_EQ(type_from_sql_name(""), std::nullopt);
}

}  // namespace
}  // namespace tdc::csv
