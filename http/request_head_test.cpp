#include "http/request_head.hpp"

#include <gtest/gtest.h>

namespace tdc::http {
namespace {

std::optional<std::string> problem(const std::string& headers) {
    return content_length_problem("POST /upload-file HTTP/1.1\r\nHost: x\r\n" + headers +
                                  "\r\nbody: Content-Length: abc\r\n");
}

TEST(ContentLengthProblem, OnePlainNumberOrNoneIsFine) {
    EXPECT_EQ(problem("Content-Length: 12\r\n"), std::nullopt);
    EXPECT_EQ(problem("content-length:\t0 \r\n"), std::nullopt);
    EXPECT_EQ(problem(""), std::nullopt);
    EXPECT_EQ(problem("X-Content-Length-Note: abc\r\n"), std::nullopt);
}

TEST(ContentLengthProblem, TwoLengthsAreRefusedEvenWhenEqual) {
    EXPECT_EQ(problem("Content-Length: 4\r\nContent-Length: 8\r\n"),
              "the request has more than one Content-Length header");
    EXPECT_NE(problem("Content-Length: 4\r\nCONTENT-LENGTH: 4\r\n"), std::nullopt);
}

TEST(ContentLengthProblem, AValueThatIsNotAllDigitsIsNamed) {
    EXPECT_EQ(problem("Content-Length: 12abc\r\n"),
              "Content-Length is \"12abc\", not a number of bytes");
    EXPECT_NE(problem("Content-Length: \r\n"), std::nullopt);
    EXPECT_NE(problem("Content-Length: -1\r\n"), std::nullopt);
    EXPECT_NE(problem("Content-Length: 18446744073709551628\r\n"), std::nullopt);  // 2^64 + 12
}

TEST(ContentLengthProblem, SpaceBeforeTheColonIsRefused) {
    EXPECT_NE(problem("Content-Length : 8\r\n"), std::nullopt);
}

TEST(ContentLengthProblem, TheBodyIsNotRead) {
    // problem() puts a bad length after the blank line: it is body, not a header.
    EXPECT_EQ(content_length_problem("GET / HTTP/1.1\n\nContent-Length: x\n"), std::nullopt);
}

}  // namespace
}  // namespace tdc::http
