#include "csv/record_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tdc::csv {
namespace {

struct Record {
    std::size_t line;
    std::vector<std::string> fields;
    bool operator==(const Record& other) const {
        return line == other.line && fields == other.fields;
    }
};

std::ostream& operator<<(std::ostream& out, const Record& record) {
    out << "line " << record.line << ":";
    for (const std::string& field : record.fields) {
        out << " [" << field << "]";
    }
    return out;
}

std::vector<Record> read_all(std::string_view text, char delimiter = ',') {
    RecordReader reader(text, delimiter);
    std::vector<Record> records;
    while (reader.next()) {
        Record record{reader.line(), {}};
        for (std::size_t i = 0; i < reader.kept(); ++i) {
            record.fields.emplace_back(reader.field(i));
        }
        records.push_back(record);
    }
    return records;
}

TEST(RecordReader, ReadsPlainRecords) {
    EXPECT_EQ(read_all("a,b\n1,2\n"), (std::vector<Record>{{1, {"a", "b"}}, {2, {"1", "2"}}}));
}

TEST(RecordReader, EmptyTextHasNoRecords) {
    EXPECT_TRUE(read_all("").empty());
}

TEST(RecordReader, LoadsLfCrlfAndLoneCrAlike) {
    EXPECT_EQ(read_all("a\r\nb\nc\rd\r\n"),
              (std::vector<Record>{{1, {"a"}}, {2, {"b"}}, {3, {"c"}}, {4, {"d"}}}));
}

TEST(RecordReader, MissingFinalNewlineLosesNothing) {
    EXPECT_EQ(read_all("a,b\n1,2"), (std::vector<Record>{{1, {"a", "b"}}, {2, {"1", "2"}}}));
}

TEST(RecordReader, TrailingBlankLinesAreNotRecords) {
    EXPECT_EQ(read_all("a\n1\n\n\r\n\r"), (std::vector<Record>{{1, {"a"}}, {2, {"1"}}}));
}

TEST(RecordReader, BlankLineInsideIsOneEmptyField) {
    EXPECT_EQ(read_all("a\n\n1\n"), (std::vector<Record>{{1, {"a"}}, {2, {""}}, {3, {"1"}}}));
}

TEST(RecordReader, TrailingDelimiterMakesEmptyLastField) {
    EXPECT_EQ(read_all("a,\n"), (std::vector<Record>{{1, {"a", ""}}}));
}

TEST(RecordReader, QuotedFieldsHoldDelimitersQuotesAndLineBreaks) {
    EXPECT_EQ(read_all("\"a,b\",\"say \"\"hi\"\"\",\"x\ny\"\n2,3,4\n"),
              (std::vector<Record>{{1, {"a,b", "say \"hi\"", "x\ny"}}, {3, {"2", "3", "4"}}}));
}

TEST(RecordReader, LineBreaksInsideQuotesCountAsPhysicalLines) {
    // CRLF counts once, a lone CR once, LF once.
    const auto records = read_all("\"1\r\n2\r3\n4\",x\nnext\n");
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].fields[0], "1\r\n2\r3\n4");
    EXPECT_EQ(records[1].line, 5u);
}

TEST(RecordReader, TellsQuotedFromUnquotedEmptyFields) {
    RecordReader reader(",\"\"\n", ',');
    ASSERT_TRUE(reader.next());
    ASSERT_EQ(reader.size(), 2u);
    EXPECT_FALSE(reader.quoted(0));
    EXPECT_TRUE(reader.quoted(1));
    EXPECT_EQ(reader.field(1), "");
}

TEST(RecordReader, QuoteInsideUnquotedFieldIsLiteral) {
    EXPECT_EQ(read_all("a\"b,5\" tall\n"), (std::vector<Record>{{1, {"a\"b", "5\" tall"}}}));
}

TEST(RecordReader, TextAfterClosingQuoteIsAppended) {
    EXPECT_EQ(read_all("\"ab\"cd,\"x\"\"y\"z\n"), (std::vector<Record>{{1, {"abcd", "x\"yz"}}}));
}

TEST(RecordReader, UnterminatedQuoteRunsToEndAndNamesItsLine) {
    RecordReader reader("a,b\n1,2\n3,\"open\nstill\n", ',');
    EXPECT_TRUE(reader.next());
    EXPECT_TRUE(reader.next());
    EXPECT_EQ(reader.unterminated_quote_line(), 0u);
    ASSERT_TRUE(reader.next());
    EXPECT_EQ(reader.field(1), "open\nstill\n");
    EXPECT_EQ(reader.unterminated_quote_line(), 3u);
    EXPECT_FALSE(reader.next());
}

TEST(RecordReader, DoubledQuoteAtEndIsStillUnterminated) {
    RecordReader reader("\"ab\"\"", ',');
    ASSERT_TRUE(reader.next());
    EXPECT_EQ(reader.field(0), "ab\"");
    EXPECT_EQ(reader.unterminated_quote_line(), 1u);
}

TEST(RecordReader, CountsButDoesNotKeepFieldsPastTheLimit) {
    RecordReader reader("a,\"b\"\"\",c,d\n1\n", ',', 2);
    ASSERT_TRUE(reader.next());
    EXPECT_EQ(reader.size(), 4u);
    EXPECT_EQ(reader.kept(), 2u);
    EXPECT_EQ(reader.field(1), "b\"");
    ASSERT_TRUE(reader.next());
    EXPECT_EQ(reader.size(), 1u);
}

TEST(RecordReader, UsesTheGivenDelimiter) {
    EXPECT_EQ(read_all("a\tb,c\n", '\t'), (std::vector<Record>{{1, {"a", "b,c"}}}));
    EXPECT_EQ(read_all("a|\"b|c\"\n", '|'), (std::vector<Record>{{1, {"a", "b|c"}}}));
}

TEST(RecordReader, ManyBlankLinesBeforeContentAreRecords) {
    std::string text = "h\n" + std::string(100000, '\n') + "x\n";
    const auto records = read_all(text);
    ASSERT_EQ(records.size(), 100002u);
    EXPECT_EQ(records.back(), (Record{100002, {"x"}}));
}

}  // namespace
}  // namespace tdc::csv
