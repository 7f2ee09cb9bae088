// PostgreSQL COPY text format (tab-separated, \N for NULL): the upload sends each batch of
// rows to the loader as one block of such lines.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tdc::csv {

// Appends `row` to `out` as one COPY text line, newline-terminated: fields separated by
// tabs, nullopt as \N, and backslash, tab, newline and carriage return escaped. Safe for
// UTF-8, where these bytes never occur inside a multibyte character.
void append_copy_line(std::string& out, const std::vector<std::optional<std::string>>& row);

}  // namespace tdc::csv
