#include "http/request_head.hpp"

#include <algorithm>
#include <cctype>

namespace tdc::http {

std::optional<std::string> content_length_problem(std::string_view head) {
    constexpr std::string_view kName = "content-length";
    constexpr std::size_t kMaxDigits = 19;  // below 2^64
    int seen = 0;
    std::size_t start = head.find('\n');
    while (start != std::string_view::npos) {
        const std::size_t end = head.find('\n', start + 1);
        std::string_view line = head.substr(
            start + 1, end == std::string_view::npos ? std::string_view::npos : end - start - 1);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.empty()) {
            break;  // the end of the headers
        }
        start = end;
        const std::size_t colon = line.find(':');
        std::string_view name = line.substr(0, colon);
        std::string lowered(name);
        std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        if (lowered.rfind(kName, 0) != 0 || colon == std::string_view::npos) {
            continue;
        }
        if (lowered != kName) {
            return "a Content-Length header is written with space or other text before its colon";
        }
        if (++seen > 1) {
            return std::string("the request has more than one Content-Length header");
        }
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
            value.remove_prefix(1);
        }
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
            value.remove_suffix(1);
        }
        const bool digits = !value.empty() && value.size() <= kMaxDigits &&
                            std::all_of(value.begin(), value.end(),
                                        [](unsigned char c) { return std::isdigit(c); });
        if (!digits) {
            return "Content-Length is \"" + std::string(value.substr(0, 40)) +
                   "\", not a number of bytes";
        }
    }
    return std::nullopt;
}

}  // namespace tdc::http
