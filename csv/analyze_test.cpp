#include <gtest/gtest.h>

#include "csv/csv.hpp"
#include "csv/test_util.hpp"

namespace tdc::csv {
namespace {

using testing::planned;
using testing::rejected;

std::vector<std::size_t> lines_of(const Rejection& rejection) {
    std::vector<std::size_t> lines;
    for (const LineError& error : rejection.lines) {
        lines.push_back(error.line);
    }
    return lines;
}

TEST(Analyze, FileWithOnlyAByteOrderMarkOrLineBreaksIsEmpty) {
    EXPECT_EQ(rejected("\xEF\xBB\xBF").error, "empty_file");
    EXPECT_EQ(rejected("\r\n\n").error, "empty_file");
}

TEST(Analyze, HeaderOnlyGivesNoRowsAndTextColumns) {
    const Plan plan = planned("id,label,amount\r\n");
    EXPECT_EQ(plan.rows, 0u);
    ASSERT_EQ(plan.columns.size(), 3u);
    for (const Column& column : plan.columns) {
        EXPECT_EQ(column.type, Type::Text);
    }
}

TEST(Analyze, CountsRowsAlikeForEveryLineEnding) {
    for (const char* text :
         {"a\n1\n2\n", "a\r\n1\r\n2\r\n", "a\r1\r2\r", "a\n1\r\n2", "a\n1\n2\n\n\n"}) {
        EXPECT_EQ(planned(text).rows, 2u) << text;
    }
}

TEST(Analyze, RaggedRowsNameEveryOffendingLine) {
    const Rejection rejection = rejected("a,b,c\n1,2,3\n1,2\n\"x\ny\",2,3\n1,2,3,4\n");
    EXPECT_EQ(rejection.status, 400);
    EXPECT_EQ(rejection.error, "ragged_rows");
    ASSERT_EQ(rejection.lines.size(), 2u);
    EXPECT_EQ(rejection.lines[0].line, 3u);
    EXPECT_EQ(rejection.lines[0].found, 2u);
    EXPECT_EQ(rejection.lines[0].expected, 3u);
    EXPECT_EQ(rejection.lines[1].line, 6u);
    EXPECT_EQ(rejection.lines[1].found, 4u);
    EXPECT_EQ(rejection.detail,
              "2 rows have the wrong number of fields (first at line 3: 2 fields, expected 3).");
}

TEST(Analyze, OneRaggedRowIsSaidInTheSingular) {
    EXPECT_EQ(rejected("a,b\n1\n").detail,
              "1 row has the wrong number of fields (at line 2: 1 field, expected 2).");
}

TEST(Analyze, RaggedRowsAreCountedBeyondTheListedLimit) {
    std::string text = "a,b\n";
    for (int i = 0; i < 10; ++i) {
        text += "1\n";
    }
    Options options;
    options.max_error_lines = 3;
    const Rejection rejection = rejected(text, options);
    EXPECT_EQ(lines_of(rejection), (std::vector<std::size_t>{2, 3, 4}));
    EXPECT_NE(rejection.detail.find("10 rows"), std::string::npos) << rejection.detail;
}

TEST(Analyze, BlankLineInAWideFileIsARaggedRow) {
    EXPECT_EQ(lines_of(rejected("a,b\n1,2\n\n3,4\n")), (std::vector<std::size_t>{3}));
}

TEST(Analyze, UnterminatedQuoteNamesTheLineWhereTheFieldBegan) {
    const Rejection rejection = rejected("a,b\n1,2\n3,\"never\nclosed,4\n5,6\n");
    EXPECT_EQ(rejection.error, "unterminated_quote");
    EXPECT_EQ(rejection.detail,
              "The quoted field that begins at line 3 is never closed: a closing \" is missing.");
}

TEST(Analyze, UnterminatedQuoteInTheHeader) {
    EXPECT_EQ(rejected("a,\"b\n1,2\n").error, "unterminated_quote");
}

TEST(Analyze, AtMost1600Columns) {
    std::string header(kMaxColumns * 2 - 1, ',');
    for (std::size_t i = 0; i < header.size(); i += 2) {
        header[i] = 'c';
    }
    EXPECT_EQ(planned(header + "\n").columns.size(), kMaxColumns);
    const Rejection rejection = rejected(header + ",c\n");
    EXPECT_EQ(rejection.error, "too_many_columns");
    EXPECT_NE(rejection.detail.find("1601"), std::string::npos) << rejection.detail;
}

TEST(Analyze, QuotedFieldsSpanLinesWithoutBecomingRows) {
    const Plan plan = planned("id,note\n1,\"a\nb\nc\"\n2,x\n");
    EXPECT_EQ(plan.rows, 2u);
}

// The same outcome, field by field, as a test failure message.
std::string outcome(const std::variant<Plan, Rejection>& result) {
    if (const auto* rejection = std::get_if<Rejection>(&result)) {
        std::string text = rejection->error + ": " + rejection->detail;
        for (const LineError& line : rejection->lines) {
            text += " [" + std::to_string(line.line) + " " + std::to_string(line.found) + "]";
        }
        return text;
    }
    const Plan& plan = std::get<Plan>(result);
    std::string text = std::to_string(plan.rows) + " rows:";
    for (const Column& column : plan.columns) {
        text += " " + column.name + "/" + column.header + "/" + std::string(sql_name(column.type)) +
                "/" + std::to_string(static_cast<int>(column.layout));
    }
    return text;
}

TEST(Analyzer, ReadingASliceAtATimeEndsAsAnalyzeDoes) {
    Options forced;
    forced.types["n"] = Type::Integer;
    const std::vector<std::pair<std::string, Options>> inputs = {
        {"n,t\n1,a\n2,\"b\nc\"\n3,d\n", {}},
        {"n,t\n1,a\n2\n3,d,e\n", {}},
        {"n,t\n1,a\n2,\"open\n", {}},
        {"n,t\n1,a\nx,b\n", forced},
        {"n,t\n", {}},
        {"", {}},
        {"n,n\n31/12/2012,1\n1/2/2012,2\n", {}},
    };
    for (const auto& [text, options] : inputs) {
        const Document document = text.empty() ? Document{} : testing::decoded(text, options);
        const std::string whole = outcome(analyze(document, options));
        for (std::size_t slice = 1; slice <= 3; ++slice) {
            Analyzer analyzer(document, options);
            std::size_t offset = 0;
            while (analyzer.read(slice)) {
                EXPECT_GT(analyzer.offset(), offset) << text;
                offset = analyzer.offset();
            }
            EXPECT_EQ(outcome(analyzer.plan()), whole) << text << " slice " << slice;
        }
    }
}

TEST(Analyzer, ThePlanSoFarHasTheTypesOfTheRowsReadSoFar) {
    const Document document = testing::decoded("n,t\n1,a\n2,b\nx,c\n");
    Analyzer analyzer(document, {});
    ASSERT_TRUE(analyzer.read(2));
    EXPECT_EQ(analyzer.rows(), 2u);
    const Plan early = std::get<Plan>(analyzer.plan());
    EXPECT_EQ(early.columns[0].type, Type::Integer);
    EXPECT_EQ(early.rows, 2u);

    ASSERT_TRUE(analyzer.read(2));
    EXPECT_FALSE(analyzer.read(2));
    const Plan late = std::get<Plan>(analyzer.plan());
    EXPECT_EQ(late.columns[0].type, Type::Text);
    EXPECT_FALSE(same_columns(early, late));
    EXPECT_TRUE(same_columns(late, std::get<Plan>(analyze(document, {}))));
}

}  // namespace
}  // namespace tdc::csv
