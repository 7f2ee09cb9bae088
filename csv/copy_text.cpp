#include "csv/copy_text.hpp"

namespace tdc::csv {

namespace {

void append_escaped(std::string& out, const std::string& value) {
    for (char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                out += c;
        }
    }
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
