#include "http/multipart.hpp"

#include <gtest/gtest.h>

namespace tdc::http {
namespace {

const std::string kBody =
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"table\"\r\n\r\n"
    "my table\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"ref\\\"s.csv\"\r\n"
    "Content-Type: text/csv\r\n\r\n"
    "a,b\r\n1,2\r\n--X\r\n"
    "\r\n--XyZ--\r\n";

TEST(Multipart, FindsBoundaryInContentType) {
    EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=XyZ").value(), "XyZ");
    EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"a b\"").value(), "a b");
    EXPECT_FALSE(multipart_boundary("multipart/form-data").has_value());
}

TEST(Multipart, SplitsPartsAndKeepsContentExact) {
    auto parts = parse_multipart(kBody, "XyZ");
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].name, "table");
    EXPECT_FALSE(parts[0].filename.has_value());
    EXPECT_EQ(parts[0].content, "my table");
    EXPECT_EQ(parts[1].name, "file");
    EXPECT_EQ(parts[1].filename.value(), "ref\"s.csv");
    EXPECT_EQ(parts[1].content, "a,b\r\n1,2\r\n--X\r\n");
}

TEST(Multipart, TruncatedBodyIsAnError) {
    std::string cut = kBody.substr(0, kBody.size() - 12);
    EXPECT_THROW(parse_multipart(cut, "XyZ"), MultipartError);
    EXPECT_THROW(parse_multipart("no boundary here", "XyZ"), MultipartError);
}

// What a body reads as: each part's name, file name and content, or the error.
std::string described(const std::vector<std::pair<PartHead, std::string>>& parts) {
    std::string text;
    for (const auto& [head, content] : parts) {
        text += head.name + "|" + head.filename.value_or("-") + "|" + content + "\n";
    }
    return text;
}

std::string read_whole(std::string_view body) {
    try {
        std::vector<std::pair<PartHead, std::string>> parts;
        for (const Part& part : parse_multipart(body, "XyZ")) {
            parts.emplace_back(part, std::string(part.content));
        }
        return described(parts);
    } catch (const MultipartError& e) {
        return e.what();
    }
}

std::string read_in_pieces(std::string_view body, std::size_t a, std::size_t b) {
    std::vector<std::pair<PartHead, std::string>> parts;
    MultipartReader::Events events;
    events.part = [&parts](const PartHead& head) { parts.emplace_back(head, ""); };
    events.content = [&parts](std::string_view piece) {
        EXPECT_FALSE(piece.empty());
        parts.back().second += piece;
    };
    try {
        MultipartReader reader("XyZ", events);
        reader.feed(body.substr(0, a));
        reader.feed(body.substr(a, b - a));
        reader.feed(body.substr(b));
        reader.finish();
        return described(parts);
    } catch (const MultipartError& e) {
        return e.what();
    }
}

TEST(MultipartReader, ReadsAlikeWhereverTheBodyIsCut) {
    const std::string body = "preamble\r\n" + kBody + "epilogue";
    const std::string whole = read_whole(body);
    EXPECT_EQ(whole, "table|-|my table\nfile|ref\"s.csv|a,b\r\n1,2\r\n--X\r\n\n");
    for (std::size_t a = 0; a <= body.size(); ++a) {
        for (std::size_t b = a; b <= body.size(); ++b) {
            ASSERT_EQ(read_in_pieces(body, a, b), whole) << "cut at " << a << ", " << b;
        }
    }
}

TEST(MultipartReader, ATruncatedBodyFailsAlikeWhereverItIsCut) {
    for (std::size_t size = 0; size < kBody.size(); ++size) {
        const std::string_view cut = std::string_view(kBody).substr(0, size);
        const std::string whole = read_whole(cut);
        for (std::size_t a = 0; a <= size; a += 7) {
            ASSERT_EQ(read_in_pieces(cut, a, (a + size) / 2), whole) << size << " at " << a;
        }
    }
}

TEST(MultipartReader, AnEndlessHeaderBlockIsAnError) {
    MultipartReader reader("XyZ", {});
    reader.feed("--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n");
    EXPECT_THROW(reader.feed(std::string(MultipartReader::kMaxHeadBytes, 'h')), MultipartError);
}

}  // namespace
}  // namespace tdc::http
