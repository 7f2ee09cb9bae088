#include "http/multipart.hpp"

#include <string.h>

#include <algorithm>
#include <cctype>

namespace tdc::http {

namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kHeaderEnd = "\r\n\r\n";

std::size_t find(std::string_view haystack, std::string_view needle, std::size_t from) {
    if (from > haystack.size()) {
        return std::string_view::npos;
    }
    const void* hit =
        memmem(haystack.data() + from, haystack.size() - from, needle.data(), needle.size());
    if (hit == nullptr) {
        return std::string_view::npos;
    }
    return static_cast<const char*>(hit) - haystack.data();
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// The value of parameter `key` in a header value such as `form-data; name="file"`.
std::optional<std::string> header_param(std::string_view value, std::string_view key) {
    std::string lowered = lower(value);
    std::size_t at = 0;
    while ((at = lowered.find(key, at)) != std::string::npos) {
        bool starts = at == 0 || lowered[at - 1] == ';' || lowered[at - 1] == ' ';
        std::size_t eq = at + key.size();
        if (!starts || eq >= value.size() || value[eq] != '=') {
            at = eq;
            continue;
        }
        std::size_t begin = eq + 1;
        if (begin < value.size() && value[begin] == '"') {
            std::string out;
            for (std::size_t i = begin + 1; i < value.size() && value[i] != '"'; ++i) {
                if (value[i] == '\\' && i + 1 < value.size()) {
                    ++i;
                }
                out += value[i];
            }
            return out;
        }
        std::size_t end = value.find(';', begin);
        std::string_view raw =
            value.substr(begin, end == std::string_view::npos ? end : end - begin);
        while (!raw.empty() && raw.back() == ' ') {
            raw.remove_suffix(1);
        }
        return std::string(raw);
    }
    return std::nullopt;
}

Part read_part_headers(std::string_view headers) {
    Part part;
    std::size_t at = 0;
    while (at < headers.size()) {
        std::size_t end = find(headers, kCrlf, at);
        std::string_view line = headers.substr(at, end == std::string_view::npos ? end : end - at);
        std::size_t colon = line.find(':');
        if (colon != std::string_view::npos &&
            lower(line.substr(0, colon)) == "content-disposition") {
            std::string_view value = line.substr(colon + 1);
            part.name = header_param(value, "name").value_or("");
            part.filename = header_param(value, "filename");
        }
        if (end == std::string_view::npos) {
            break;
        }
        at = end + kCrlf.size();
    }
    return part;
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
    auto boundary = header_param(content_type, "boundary");
    if (!boundary || boundary->empty() || boundary->size() > 200) {
        return std::nullopt;
    }
    return boundary;
}

std::vector<Part> parse_multipart(std::string_view body, const std::string& boundary) {
    const std::string delimiter = "--" + boundary;
    std::size_t at = find(body, delimiter, 0);
    if (at == std::string_view::npos) {
        throw MultipartError("multipart body does not contain its boundary '" + boundary + "'");
    }
    std::vector<Part> parts;
    const std::string next_delimiter = "\r\n" + delimiter;
    while (true) {
        at += delimiter.size();
        if (body.substr(at, 2) == "--") {
            return parts;
        }
        std::size_t headers_end = find(body, kHeaderEnd, at);
        if (headers_end == std::string_view::npos) {
            throw MultipartError("multipart part " + std::to_string(parts.size() + 1) +
                                 " has no header block");
        }
        Part part = read_part_headers(body.substr(at, headers_end - at));
        std::size_t content_begin = headers_end + kHeaderEnd.size();
        std::size_t content_end = find(body, next_delimiter, content_begin);
        if (content_end == std::string_view::npos) {
            throw MultipartError("multipart body is truncated: part " +
                                 std::to_string(parts.size() + 1) + " has no closing boundary");
        }
        part.content = body.substr(content_begin, content_end - content_begin);
        parts.push_back(std::move(part));
        at = content_end + 2;
    }
}

}  // namespace tdc::http
