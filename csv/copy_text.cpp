#include "csv/copy_text.hpp"

namespace tdc::csv {

namespace {

// Copies runs of plain bytes at once; only the four bytes COPY text gives a meaning are escaped.
void append_escaped(std::string& out, const std::string& value) {
    std::size_t plain = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (c != '\\' && c != '\t' && c != '\n' && c != '\r') {
            continue;
        }
        out.append(value, plain, i - plain);
        out += '\\';
        out += c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
        plain = i + 1;
    }
    out.append(value, plain, std::string::npos);
}

}  // namespace

void append_copy_line(std::string& out, const std::vector<std::optional<std::string>>& row) {
    for (std::size_t i = 0; i < row.size(); ++i) {
        if (i > 0) {
            out += '\t';
        }
        if (row[i]) {
            append_escaped(out, *row[i]);
        } else {
            out += "\\N";
        }
    }
    out += '\n';
}

}  // namespace tdc::csv
