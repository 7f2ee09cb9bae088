#include "stages/loader/copy_text.hpp"

#include <algorithm>
#include <cstdint>

namespace tdc {

std::optional<std::size_t> copy_line_count(std::string_view block) {
    if (!block.empty() && block.back() != '\n') {
        return std::nullopt;
    }
    return static_cast<std::size_t>(std::count(block.begin(), block.end(), '\n'));
}

namespace {

// The big-endian integer of `bytes` bytes at `pos`. REQUIRES: they are there.
std::int64_t read_int(std::string_view block, std::size_t pos, std::size_t bytes) {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < bytes; ++i) {
        value = (value << 8) | static_cast<unsigned char>(block[pos + i]);
    }
    return bytes == 2 ? static_cast<std::int16_t>(value) : static_cast<std::int32_t>(value);
}

}  // namespace

std::optional<std::size_t> binary_tuple_count(std::string_view block, std::size_t fields) {
    std::size_t tuples = 0;
    std::size_t pos = 0;
    while (pos < block.size()) {
        if (pos + 2 > block.size() ||
            read_int(block, pos, 2) != static_cast<std::int64_t>(fields)) {
            return std::nullopt;
        }
        pos += 2;
        for (std::size_t i = 0; i < fields; ++i) {
            if (pos + 4 > block.size()) {
                return std::nullopt;
            }
            const std::int64_t length = read_int(block, pos, 4);
            pos += 4;
            if (length < -1 ||
                (length > 0 && pos + static_cast<std::size_t>(length) > block.size())) {
                return std::nullopt;
            }
            pos += length > 0 ? static_cast<std::size_t>(length) : 0;
        }
        ++tuples;
    }
    return tuples;
}

}  // namespace tdc
