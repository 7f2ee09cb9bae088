// multipart/form-data bodies (RFC 7578), as browsers and `curl -F` send them. Debian ships
// no C++ parser for this, so this is the smallest reader that serves uploads: it finds the
// parts and their Content-Disposition names, and hands their contents on without copying
// them, piece by piece while the body arrives.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tdc::http {

// The header block of one part.
struct PartHead {
    std::string name;                     // the form field
    std::optional<std::string> filename;  // set for file fields
};

struct Part : PartHead {
    std::string_view content;  // points into the body passed to parse_multipart
};

// A body that is not well-formed multipart; the message says what is wrong.
class MultipartError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The boundary parameter of a Content-Type value, or nullopt when it has none.
std::optional<std::string> multipart_boundary(std::string_view content_type);

// Reads a multipart body in pieces of any size, as they arrive. Text before the first
// boundary and after the closing one is ignored. A part's content ends where a line break and
// the boundary follow, as in parse_multipart().
class MultipartReader {
public:
    struct Events {
        std::function<void(const PartHead&)> part;      // a part's header block was read
        std::function<void(std::string_view)> content;  // the next piece of its content
    };

    MultipartReader(const std::string& boundary, Events events);

    // Reads the next piece of the body. Throws MultipartError when a part's header block is
    // over kMaxHeadBytes.
    void feed(std::string_view bytes);

    // Ends the body. Throws MultipartError when the first boundary or the closing one is
    // missing, or a part lacks its header block.
    void finish();

    static constexpr std::size_t kMaxHeadBytes = 64 * 1024;

private:
    enum class State { Preamble, Head, Content, Done };

    std::string_view skip_preamble(std::string_view bytes);
    std::string_view read_head(std::string_view bytes);
    std::string_view read_content(std::string_view bytes);
    std::size_t find_after_held(std::string_view bytes, std::string_view needle);
    void hold(std::string_view bytes, std::size_t keep, bool emit);

    const std::string delimiter_;       // "--" and the boundary
    const std::string next_delimiter_;  // a line break before it: where content ends
    Events events_;
    State state_ = State::Preamble;
    std::string held_;  // the end of the last piece, which may begin a delimiter
    std::string head_;  // the header block read so far
    std::size_t parts_ = 0;
};

// Splits a whole `body` into its parts. REQUIRES: `body` outlives the returned parts.
// Throws MultipartError as MultipartReader does.
std::vector<Part> parse_multipart(std::string_view body, const std::string& boundary);

}  // namespace tdc::http
