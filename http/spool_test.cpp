#include "http/spool.hpp"

#include <gtest/gtest.h>

namespace tdc::http {
namespace {

std::string numbered_lines(std::size_t count) {
    std::string text;
    for (std::size_t i = 0; i < count; ++i) {
        text += std::to_string(i) + ",some text\n";
    }
    return text;
}

TEST(Spool, MapsWhatWasAppendedInAnyPieces) {
    const std::string text = numbered_lines(300000);  // several write blocks
    Spool spool(std::filesystem::temp_directory_path());
    for (std::size_t at = 0; at < text.size(); at += 4093) {
        spool.append(std::string_view(text).substr(at, 4093));
    }
    EXPECT_EQ(spool.size(), text.size());
    EXPECT_EQ(spool.map(), text);
}

TEST(Spool, ClearStartsOver) {
    Spool spool(std::filesystem::temp_directory_path());
    spool.append(numbered_lines(200000));
    spool.clear();
    spool.append("a,b\n1,2\n");
    EXPECT_EQ(spool.map(), "a,b\n1,2\n");
}

TEST(Spool, ReleasedBytesReadTheSameWhenTouchedAgain) {
    const std::string text = numbered_lines(1000000);
    Spool spool(std::filesystem::temp_directory_path());
    spool.append(text);
    const std::string_view mapped = spool.map();
    spool.release_before(mapped.size() / 2);
    spool.release_before(mapped.size());
    EXPECT_EQ(mapped, text);
}

TEST(Spool, AnEmptyFileMapsToNothing) {
    Spool spool(std::filesystem::temp_directory_path());
    EXPECT_TRUE(spool.map().empty());
}

TEST(Spool, AMissingDirectoryIsAnErrorNamingIt) {
    try {
        Spool spool("/nonexistent-tdc-dir");
        FAIL() << "no error";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent-tdc-dir"), std::string::npos);
    }
}

}  // namespace
}  // namespace tdc::http
