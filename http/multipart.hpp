// multipart/form-data bodies (RFC 7578), as browsers and `curl -F` send them. Debian ships
// no C++ parser for this, so this is the smallest reader that serves uploads: it finds the
// parts and their Content-Disposition names without copying their contents.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tdc::http {

struct Part {
    std::string name;                     // the form field
    std::optional<std::string> filename;  // set for file fields
    std::string_view content;             // points into the body passed to parse_multipart
};

// A body that is not well-formed multipart; the message says what is wrong.
class MultipartError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The boundary parameter of a Content-Type value, or nullopt when it has none.
std::optional<std::string> multipart_boundary(std::string_view content_type);

// Splits `body` into its parts. REQUIRES: `body` outlives the returned parts.
// Throws MultipartError when the first boundary or the closing one is missing, or a part
// lacks its header block.
std::vector<Part> parse_multipart(std::string_view body, const std::string& boundary);

}  // namespace tdc::http
