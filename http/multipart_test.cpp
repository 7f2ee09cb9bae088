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

}  // namespace
}  // namespace tdc::http
