#include <gtest/gtest.h>

#include "csv/csv.hpp"
#include "csv/test_util.hpp"
#include "csv/text.hpp"

namespace tdc::csv {
namespace {

using testing::decoded;
using testing::rejected;

Options with_encoding(std::string encoding) {
    Options options;
    options.encoding = std::move(encoding);
    return options;
}

TEST(Decode, ZeroBytesIsAnEmptyFile) {
    const Rejection rejection = rejected("");
    EXPECT_EQ(rejection.status, 400);
    EXPECT_EQ(rejection.error, "empty_file");
    EXPECT_FALSE(rejection.detail.empty());
}

TEST(Decode, KeepsUtf8AndDropsTheByteOrderMark) {
    const Document document = decoded("\xEF\xBB\xBFid,caf\xC3\xA9\n1,2\n");
    EXPECT_EQ(document.text, "id,caf\xC3\xA9\n1,2\n");
    EXPECT_EQ(document.encoding, "utf-8");
    EXPECT_EQ(document.delimiter, ',');
}

TEST(Decode, ReadsInvalidUtf8AsWindows1252) {
    // Curly quotes, euro sign and e-acute as Windows-1252 bytes.
    const Document document = decoded("a\n\x93quoted\x94 \x80 \x92 caf\xE9\n");
    EXPECT_EQ(document.encoding, "windows-1252");
    EXPECT_EQ(document.text, "a\n\u201Cquoted\u201D \u20AC \u2019 caf\u00E9\n");
}

TEST(Decode, InPlaceViewsValidUtf8WithoutCopying) {
    const std::string raw = "\xEF\xBB\xBFid\n1\n";
    auto result = decode_in_place(raw, Options{});
    const Document& document = std::get<Document>(result);
    EXPECT_EQ(document.text.data(), raw.data() + 3);
    EXPECT_EQ(document.text, "id\n1\n");
    EXPECT_EQ(document.owned, nullptr);
}

TEST(Decode, InPlaceOwnsWhatItConvertsFromWindows1252) {
    std::string raw = "caf\xE9\n";
    auto result = decode_in_place(raw, Options{});
    raw.assign(raw.size(), 'x');  // the Document must not depend on the input any more
    const Document& document = std::get<Document>(result);
    ASSERT_NE(document.owned, nullptr);
    EXPECT_EQ(document.text, "caf\u00E9\n");
}

TEST(Decode, ForcedWindows1252ReadsEvenValidUtf8) {
    const Document document = decoded("caf\xC3\xA9", with_encoding("Windows-1252"));
    EXPECT_EQ(document.encoding, "windows-1252");
    EXPECT_EQ(document.text, "caf\u00C3\u00A9");
}

TEST(Decode, ForcedUtf8RejectsInvalidBytesNamingOffsetAndLine) {
    const Rejection rejection = rejected("\xEF\xBB\xBFid\r\ncaf\xE9\n", with_encoding("utf-8"));
    EXPECT_EQ(rejection.error, "bad_encoding");
    EXPECT_NE(rejection.detail.find("0xE9 at offset 10 (line 2)"), std::string::npos)
        << rejection.detail;
}

TEST(Decode, RefusesOverlongAndSurrogateUtf8) {
    for (const char* text :
         {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xC3", "\xF0\x9F\x98"}) {
        EXPECT_EQ(rejected(text, with_encoding("utf-8")).error, "bad_encoding");
    }
    EXPECT_EQ(decoded("\xF0\x9F\x98\x80", with_encoding("utf-8")).text, "\xF0\x9F\x98\x80");
}

TEST(Decode, RejectsBytesWindows1252LeavesUndefined) {
    const Rejection rejection = rejected("a\nb\x81\n");
    EXPECT_EQ(rejection.error, "bad_encoding");
    EXPECT_NE(rejection.detail.find("0x81 at offset 3 (line 2)"), std::string::npos)
        << rejection.detail;
}

TEST(Decode, RejectsZeroBytesAndUtf16) {
    EXPECT_EQ(rejected(std::string("a,b\n1,\0\n", 8)).error, "bad_encoding");
    EXPECT_EQ(rejected(std::string("\xFF\xFE"
                                   "a\0,\0b\0",
                                   8))
                  .error,
              "bad_encoding");
}

TEST(Decode, RejectsUnknownEncodingNames) {
    EXPECT_EQ(rejected("a\n", with_encoding("latin9")).error, "unsupported_encoding");
    EXPECT_EQ(decoded("a\n", with_encoding("UTF8")).encoding, "utf-8");
    EXPECT_EQ(decoded("a\n", with_encoding("cp1252")).encoding, "windows-1252");
}

TEST(Decode, RejectsUnusableDelimiters) {
    for (const char delimiter : {'"', '\n', '\r', '\0', '\xE9'}) {
        Options options;
        options.delimiter = delimiter;
        EXPECT_EQ(rejected("a\n", options).error, "bad_delimiter");
    }
}

TEST(Decode, DetectsTheDelimiterFromTheHeader) {
    EXPECT_EQ(decoded("a;b;c\n1,5;2;3\n").delimiter, ';');
    EXPECT_EQ(decoded("a\tb\n1,5\t2\n").delimiter, '\t');
    EXPECT_EQ(decoded("a|b\n1|2\n").delimiter, '|');
    EXPECT_EQ(decoded("a,b\n1;2;3;4\n").delimiter, ',');
    EXPECT_EQ(decoded("single\n1;2\n").delimiter, ',');
}

TEST(Decode, DelimitersInsideQuotedHeadersDoNotCount) {
    EXPECT_EQ(decoded("\"a;b;c\",d\n").delimiter, ',');
    EXPECT_EQ(decoded("\"a,b,c\";d\n").delimiter, ';');
    EXPECT_EQ(decoded("\"multi\nline,header\";x\n").delimiter, ';');
}

TEST(Decode, TiesGoToCommaThenSemicolonThenTabThenPipe) {
    EXPECT_EQ(decoded("a,b;c\n").delimiter, ',');
    EXPECT_EQ(decoded("a|b;c\n").delimiter, ';');
    EXPECT_EQ(decoded("a|b\tc\n").delimiter, '\t');
}

TEST(Decode, HonoursAnOverriddenDelimiter) {
    Options options;
    options.delimiter = ';';
    EXPECT_EQ(decoded("a,b,c\n", options).delimiter, ';');
}

TEST(ByteCheck, GivesTheVerdictOfTheWholeTextWhereverThePiecesAreCut) {
    const std::vector<std::string> inputs = {
        "plain,ascii\n1,2\n",
        "caf\xC3\xA9,\xE2\x82\xAC,\xF0\x9F\x98\x80\n",
        "cut \xE2\x82",
        "stray \x82 byte",
        "overlong \xC0\xAF",
        "surrogate \xED\xA0\x80",
        "too many \xF0\x9F\x98\x80\x80\x80",
        std::string("zero \0 byte", 11),
        "\xFF\xFEu\0t\0f\0",
        "\xEF\xBB\xBF"
        "bom,\xC3\xA9\n",
        "\xC3",
    };
    for (const std::string& raw : inputs) {
        const bool whole = raw.find('\0') == std::string::npos &&
                           invalid_utf8_offset(raw) == std::string_view::npos;
        for (std::size_t a = 0; a <= raw.size(); ++a) {
            for (std::size_t b = a; b <= raw.size(); ++b) {
                ByteCheck check;
                check.add(std::string_view(raw).substr(0, a));
                check.add(std::string_view(raw).substr(a, b - a));
                check.add(std::string_view(raw).substr(b));
                ASSERT_EQ(check.clean_utf8(), whole) << raw << " cut at " << a << ", " << b;
                ASSERT_EQ(check.size(), raw.size());
            }
        }
    }
}

TEST(ByteCheck, DecodingWithTheCheckGivesTheSameDocument) {
    for (const std::string raw : {"a;b\n\xC3\xA9;2\n", "a,b\n\xE9,2\n",
                                  "\xEF\xBB\xBF"
                                  "a\n1\n"}) {
        ByteCheck check;
        check.add(raw);
        const auto with = decode_in_place(raw, {}, check);
        const auto without = decode_in_place(raw, {});
        const auto& a = std::get<Document>(with);
        const auto& b = std::get<Document>(without);
        EXPECT_EQ(a.text, b.text);
        EXPECT_EQ(a.encoding, b.encoding);
        EXPECT_EQ(a.delimiter, b.delimiter);
    }
}

}  // namespace
}  // namespace tdc::csv
