#include "csv/names.hpp"

#include <gtest/gtest.h>

#include "csv/csv.hpp"
#include "csv/test_util.hpp"

namespace tdc::csv {
namespace {

using Names = std::vector<std::string>;

TEST(ColumnNames, KeepTextAndCaseExactly) {
    EXPECT_EQ(column_names({"order", "a\"b", "x;drop table t", "Name", "name"}),
              (Names{"order", "a\"b", "x;drop table t", "Name", "name"}));
}

TEST(ColumnNames, FoldWhiteSpaceRuns) {
    EXPECT_EQ(column_names({"  note \r\n\t text  ", "a\v\fb"}), (Names{"note text", "a b"}));
}

TEST(ColumnNames, BlankHeadersBecomeColumnN) {
    EXPECT_EQ(column_names({"", "id", " \n ", ""}),
              (Names{"column_1", "id", "column_3", "column_4"}));
}

TEST(ColumnNames, RepeatsGetSuffixesInOrder) {
    EXPECT_EQ(column_names({"id", "name", "", "name", "name"}),
              (Names{"id", "name", "column_3", "name_2", "name_3"}));
}

TEST(ColumnNames, SuffixesSkipNamesTheHeaderUses) {
    EXPECT_EQ(column_names({"a", "a", "a_2"}), (Names{"a", "a_3", "a_2"}));
    EXPECT_EQ(column_names({"a_2", "a", "a", "a"}), (Names{"a_2", "a", "a_3", "a_4"}));
}

TEST(ColumnNames, BlankHeaderCollidingWithAnExplicitColumnN) {
    EXPECT_EQ(column_names({"column_2", ""}), (Names{"column_2", "column_2_2"}));
}

TEST(ColumnNames, FoldedHeadersCollide) {
    EXPECT_EQ(column_names({"a b", " a  b "}), (Names{"a b", "a b_2"}));
}

TEST(ColumnNames, CutTo63BytesOnACharacterBoundary) {
    const std::string long_ascii(70, 'x');
    EXPECT_EQ(column_names({long_ascii}), (Names{std::string(63, 'x')}));

    // 62 bytes, then a 2-byte character that would end at byte 64: it is dropped whole.
    const std::string split = std::string(62, 'x') + "\xC3\xA9" + "tail";
    EXPECT_EQ(column_names({split}), (Names{std::string(62, 'x')}));
}

TEST(ColumnNames, CutLeavesNoTrailingSpace) {
    const std::string name = std::string(62, 'x') + " tail";
    EXPECT_EQ(column_names({name}), (Names{std::string(62, 'x')}));
    const std::string spaced = std::string(60, 'x') + " y";
    EXPECT_EQ(column_names({spaced, spaced}), (Names{spaced, std::string(60, 'x') + "_2"}));
}

TEST(ColumnNames, CutNamesAreMadeUnique) {
    const std::string prefix(63, 'x');
    EXPECT_EQ(column_names({prefix + "a", prefix + "b", prefix + "c"}),
              (Names{prefix, std::string(61, 'x') + "_2", std::string(61, 'x') + "_3"}));
}

TEST(ColumnNames, SuffixCutRespectsCharacterBoundaries) {
    // 60 bytes then 3-byte characters: the name keeps one euro sign (63 bytes); with "_2" only
    // 61 bytes are left for the base, so the repeat drops the euro sign whole.
    const std::string name = std::string(60, 'x') + "\xE2\x82\xAC\xE2\x82\xAC";
    const Names names = column_names({name, name});
    ASSERT_EQ(names.size(), 2u);
    EXPECT_EQ(names[0], std::string(60, 'x') + "\xE2\x82\xAC");
    EXPECT_EQ(names[1], std::string(60, 'x') + "_2");
    EXPECT_LE(names[1].size(), kMaxNameBytes);
}

TEST(ColumnNames, ComeOutOfAnalyzeWithHeaders) {
    const Plan plan = testing::planned("\xEF\xBB\xBFid,\"note\n text\",,id\n1,2,3,4\n");
    ASSERT_EQ(plan.columns.size(), 4u);
    EXPECT_EQ(plan.columns[0].name, "id");
    EXPECT_EQ(plan.columns[1].name, "note text");
    EXPECT_EQ(plan.columns[1].header, "note\n text");
    EXPECT_EQ(plan.columns[2].name, "column_3");
    EXPECT_EQ(plan.columns[2].header, "");
    EXPECT_EQ(plan.columns[3].name, "id_2");
}

TEST(TableName, FromFileNames) {
    EXPECT_EQ(table_name("reference.csv", true), "reference");
    EXPECT_EQ(table_name("Sales Report (2021).CSV", true), "sales_report__2021_");
    EXPECT_EQ(table_name("archive.tar.gz", true), "archive_tar");
    EXPECT_EQ(table_name("C:\\Users\\me\\data.csv", true), "data");
    EXPECT_EQ(table_name("/tmp/up/data", true), "data");
    EXPECT_EQ(table_name(".csv", true), "upload");
    EXPECT_EQ(table_name("", true), "upload");
}

TEST(TableName, FromRequestedNames) {
    EXPECT_EQ(table_name("My.Table", false), "my_table");
    EXPECT_EQ(table_name("", false), "upload");
    EXPECT_EQ(table_name("ok_name_9", false), "ok_name_9");
}

TEST(TableName, OneUnderscorePerNonAsciiCharacter) {
    EXPECT_EQ(table_name("Caf\xC3\xA9 \xE2\x82\xAC", false), "caf___");
    EXPECT_EQ(table_name("\xF0\x9F\x98\x80x", false), "_x");
    EXPECT_EQ(table_name("\xE9t\xE9", false), "_t_");  // Latin-1 bytes, not UTF-8
}

TEST(TableName, LeadingDigitGetsAPrefix) {
    EXPECT_EQ(table_name("2021.csv", true), "t_2021");
    EXPECT_EQ(table_name("9lives", false), "t_9lives");
}

TEST(TableName, CutTo63Bytes) {
    EXPECT_EQ(table_name(std::string(100, 'a'), false), std::string(63, 'a'));
    EXPECT_EQ(table_name(std::string(100, '7'), false), "t_" + std::string(61, '7'));
}

}  // namespace
}  // namespace tdc::csv
