#include "http/multipart.hpp"

#include <string.h>

#include <algorithm>
#include <cctype>

namespace tdc::http {

namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kHeaderEnd = "\r\n\r\n";

std::size_t find_bytes(std::string_view haystack, std::string_view needle, std::size_t from) {
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

PartHead read_part_headers(std::string_view headers) {
    PartHead part;
    std::size_t at = 0;
    while (at < headers.size()) {
        std::size_t end = find_bytes(headers, kCrlf, at);
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

MultipartReader::MultipartReader(const std::string& boundary, Events events)
    : delimiter_("--" + boundary),
      next_delimiter_("\r\n--" + boundary),
      events_(std::move(events)) {}

void MultipartReader::feed(std::string_view bytes) {
    while (!bytes.empty()) {
        switch (state_) {
            case State::Preamble:
                bytes = skip_preamble(bytes);
                break;
            case State::Head:
                bytes = read_head(bytes);
                break;
            case State::Content:
                bytes = read_content(bytes);
                break;
            case State::Done:
                return;
        }
    }
}

void MultipartReader::finish() {
    switch (state_) {
        case State::Preamble:
            throw MultipartError("multipart body does not contain its boundary '" +
                                 delimiter_.substr(2) + "'");
        case State::Head:
            throw MultipartError("multipart part " + std::to_string(parts_ + 1) +
                                 " has no header block");
        case State::Content:
            throw MultipartError("multipart body is truncated: part " + std::to_string(parts_) +
                                 " has no closing boundary");
        case State::Done:
            break;
    }
}

std::string_view MultipartReader::skip_preamble(std::string_view bytes) {
    const std::size_t after = find_after_held(bytes, delimiter_);
    if (after == std::string_view::npos) {
        hold(bytes, delimiter_.size() - 1, false);
        return {};
    }
    state_ = State::Head;
    return bytes.substr(after);
}

std::string_view MultipartReader::read_content(std::string_view bytes) {
    const std::size_t after = find_after_held(bytes, next_delimiter_);
    if (after == std::string_view::npos) {
        hold(bytes, next_delimiter_.size() - 1, true);
        return {};
    }
    state_ = State::Head;
    return bytes.substr(after);
}

// The header block runs from the end of the delimiter to a blank line; "--" right after the
// delimiter closes the body instead.
std::string_view MultipartReader::read_head(std::string_view bytes) {
    const std::string_view tail =
        std::string_view(head_).substr(head_.size() - std::min<std::size_t>(head_.size(), 3));
    const std::string joined = std::string(tail) + std::string(bytes.substr(0, 3));
    std::size_t end = joined.find(kHeaderEnd);
    if (end != std::string::npos) {
        end = end + kHeaderEnd.size() - tail.size();
    } else if ((end = find_bytes(bytes, kHeaderEnd, 0)) != std::string_view::npos) {
        end += kHeaderEnd.size();
    }
    const std::size_t take = end == std::string_view::npos ? bytes.size() : end;
    if (head_.size() + take > kMaxHeadBytes) {
        throw MultipartError("multipart part " + std::to_string(parts_ + 1) +
                             " has no header block");
    }
    head_.append(bytes.substr(0, take));
    if (head_.size() >= 2 && head_.compare(0, 2, "--") == 0) {
        state_ = State::Done;
        return {};
    }
    if (end == std::string_view::npos) {
        return {};
    }
    ++parts_;
    if (events_.part) {
        events_.part(
            read_part_headers(std::string_view(head_).substr(0, head_.size() - kHeaderEnd.size())));
    }
    head_.clear();
    state_ = State::Content;
    return bytes.substr(end);
}

// Looks for `needle` in held_ followed by `bytes`. When it is there, passes on the content
// before it (in Content), empties held_ and returns the offset in `bytes` just after it. Else
// returns npos; held_ then still holds bytes only when `bytes` is too short to end a needle
// that begins in it, and hold() is to keep the end of both.
std::size_t MultipartReader::find_after_held(std::string_view bytes, std::string_view needle) {
    const auto pass = [this](std::string_view piece) {
        if (state_ == State::Content && !piece.empty() && events_.content) {
            events_.content(piece);
        }
    };
    if (!held_.empty()) {
        // A needle that begins in held_ ends within its first needle.size() - 1 bytes after.
        const std::string window = held_ + std::string(bytes.substr(0, needle.size() - 1));
        const std::size_t at = window.find(needle);
        if (at != std::string::npos) {
            pass(std::string_view(window).substr(0, at));
            const std::size_t after = at + needle.size() - held_.size();
            held_.clear();
            return after;
        }
        if (bytes.size() < needle.size() - 1) {
            return std::string_view::npos;
        }
        pass(held_);
        held_.clear();
    }
    const std::size_t at = find_bytes(bytes, needle, 0);
    if (at == std::string_view::npos) {
        return at;
    }
    pass(bytes.substr(0, at));
    return at + needle.size();
}

// After find_after_held() found no needle: keeps the last `keep` bytes, which may begin one,
// and passes the rest on when `emit`.
void MultipartReader::hold(std::string_view bytes, std::size_t keep, bool emit) {
    std::string joined;
    if (!held_.empty()) {
        joined = held_ + std::string(bytes);
        bytes = joined;
    }
    const std::size_t cut = bytes.size() > keep ? bytes.size() - keep : 0;
    if (emit && cut > 0 && events_.content) {
        events_.content(bytes.substr(0, cut));
    }
    held_.assign(bytes.substr(cut));
}

std::vector<Part> parse_multipart(std::string_view body, const std::string& boundary) {
    std::vector<Part> parts;
    MultipartReader::Events events;
    events.part = [&parts](const PartHead& head) { parts.push_back(Part{head, {}}); };
    // Read in one piece, each part's content comes in one piece that views `body`.
    events.content = [&parts](std::string_view piece) { parts.back().content = piece; };
    MultipartReader reader(boundary, std::move(events));
    reader.feed(body);
    reader.finish();
    return parts;
}

}  // namespace tdc::http
