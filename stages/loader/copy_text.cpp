#include "stages/loader/copy_text.hpp"

#include <algorithm>

namespace tdc {

std::optional<std::size_t> copy_line_count(std::string_view block) {
    if (!block.empty() && block.back() != '\n') {
        return std::nullopt;
    }
    return static_cast<std::size_t>(std::count(block.begin(), block.end(), '\n'));
}

}  // namespace tdc
