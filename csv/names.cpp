#include "csv/names.hpp"

#include <unordered_map>
#include <unordered_set>

#include "csv/csv.hpp"
#include "csv/text.hpp"

namespace tdc::csv {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool is_continuation(char c) {
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

bool is_table_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// `name` cut to `max_bytes` on a character boundary, without a space left at the cut.
std::string cut_name(std::string_view name, std::size_t max_bytes) {
    std::string_view cut = utf8_prefix(name, max_bytes);
    while (cut.size() < name.size() && !cut.empty() && cut.back() == ' ') {
        cut.remove_suffix(1);
    }
    return std::string(cut);
}

// The base name of a header before uniqueness: folded, blank -> column_N, cut.
std::string base_name(const std::string& header, std::size_t position) {
    std::string name = fold_whitespace(header);
    if (name.empty()) {
        name = "column_" + std::to_string(position);
    }
    return cut_name(name, kMaxNameBytes);
}

// `base` with "_<suffix>", the base cut so that the whole fits kMaxNameBytes.
std::string suffixed(const std::string& base, std::size_t suffix) {
    const std::string tail = "_" + std::to_string(suffix);
    return cut_name(base, kMaxNameBytes - tail.size()) + tail;
}

// The position after the (possibly malformed) UTF-8 character that starts at `pos`.
std::size_t character_end(std::string_view text, std::size_t pos) {
    std::size_t end = pos + 1;
    while (end < text.size() && end < pos + 4 && is_continuation(text[end])) {
        ++end;
    }
    return end;
}

// A file name without directories and without its last extension.
std::string_view file_stem(std::string_view file_name) {
    const std::size_t slash = file_name.find_last_of("/\\");
    if (slash != std::string_view::npos) {
        file_name.remove_prefix(slash + 1);
    }
    const std::size_t dot = file_name.rfind('.');
    return dot == std::string_view::npos ? file_name : file_name.substr(0, dot);
}

}  // namespace

std::string fold_whitespace(std::string_view text) {
    std::string folded;
    folded.reserve(text.size());
    bool pending_space = false;
    for (const char c : text) {
        if (is_space(c)) {
            pending_space = !folded.empty();
            continue;
        }
        if (pending_space) {
            folded.push_back(' ');
            pending_space = false;
        }
        folded.push_back(c);
    }
    return folded;
}

std::vector<std::string> column_names(const std::vector<std::string>& headers) {
    std::vector<std::string> names;
    names.reserve(headers.size());
    for (std::size_t i = 0; i < headers.size(); ++i) {
        names.push_back(base_name(headers[i], i + 1));
    }

    std::unordered_set<std::string> taken(names.begin(), names.end());
    std::unordered_set<std::string> seen;
    std::unordered_map<std::string, std::size_t> next_suffix;
    for (std::string& name : names) {
        if (seen.insert(name).second) {
            continue;
        }
        std::size_t& suffix = next_suffix.try_emplace(name, 2).first->second;
        std::string candidate = suffixed(name, suffix);
        while (!taken.insert(candidate).second) {
            candidate = suffixed(name, ++suffix);
        }
        ++suffix;
        name = std::move(candidate);
    }
    return names;
}

std::string table_name(std::string_view requested_or_file_name, bool strip_extension) {
    const std::string_view source =
        strip_extension ? file_stem(requested_or_file_name) : requested_or_file_name;
    std::string name;
    name.reserve(source.size() + 2);
    for (std::size_t i = 0; i < source.size();) {
        const char c = source[i];
        if (static_cast<unsigned char>(c) >= 0x80) {
            name.push_back('_');
            i = character_end(source, i);
            continue;
        }
        const char lower = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        name.push_back(is_table_char(lower) ? lower : '_');
        ++i;
    }
    if (name.empty()) {
        return "upload";
    }
    if (name[0] >= '0' && name[0] <= '9') {
        name.insert(0, "t_");
    }
    return name.substr(0, kMaxNameBytes);
}

}  // namespace tdc::csv
