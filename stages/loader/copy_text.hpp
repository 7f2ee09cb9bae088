// Checks on the blocks of PostgreSQL COPY text lines that the upload sends in each batch.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace tdc {

// Returns how many newline-terminated lines `block` holds (0 for an empty block), or nullopt
// when its last line has no newline, i.e. the block was cut short.
std::optional<std::size_t> copy_line_count(std::string_view block);

}  // namespace tdc
