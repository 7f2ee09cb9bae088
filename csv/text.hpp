// Byte-level helpers for UTF-8 text.
#pragma once

#include <cstddef>
#include <string_view>

namespace tdc::csv {

// Offset of the first byte that is not part of a well-formed UTF-8 character (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or npos when `text` is valid.
std::size_t invalid_utf8_offset(std::string_view text);

// The longest prefix of `text` that has at most `max_bytes` bytes and does not end inside a
// UTF-8 character.
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);

// The physical 1-based line holding text[offset]; LF, CRLF and a lone CR each end a line.
std::size_t line_of_offset(std::string_view text, std::size_t offset);

}  // namespace tdc::csv
