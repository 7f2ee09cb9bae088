// Checks of a request's head (its request line and headers, as read from the connection) that
// Pistache 0.0.5 does not make.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tdc::http {

// What is wrong with the Content-Length headers of `head`, as a sentence, or nullopt when
// there is none or one plain number. Refused: two of them (Pistache keeps the first, and the
// rest of the body would be read as the next request), a value that is not all digits
// (Pistache reads "12abc" as 12 and "abc" as 0), space before the colon. Reads up to the
// blank line that ends the headers.
std::optional<std::string> content_length_problem(std::string_view head);

}  // namespace tdc::http
