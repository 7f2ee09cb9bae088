// Checks on the blocks of PostgreSQL COPY data that the upload sends in each batch: text lines,
// or binary tuples.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace tdc {

// Returns how many newline-terminated lines `block` holds (0 for an empty block), or nullopt
// when its last line has no newline, i.e. the block was cut short.
std::optional<std::size_t> copy_line_count(std::string_view block);

// Returns how many binary COPY tuples of `fields` fields each `block` holds, or nullopt when a
// tuple has another field count, a field length below -1, or is cut short.
std::optional<std::size_t> binary_tuple_count(std::string_view block, std::size_t fields);

}  // namespace tdc
