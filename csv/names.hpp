// Column and table naming per the ingest contract.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tdc::csv {

// `text` with every run of ASCII white space (space, tab, CR, LF, VT, FF) replaced by one
// space and none at either end.
std::string fold_whitespace(std::string_view text);

// Final column names for header fields, in order: white space folded; a blank header becomes
// column_N (N its 1-based position); cut to kMaxNameBytes on a character boundary (a space
// left at the cut is dropped too); then made unique. The first occurrence of a name keeps it; each
// repeat gets the lowest suffix _2, _3,
// ... that no header uses and no earlier repeat took, cutting the name further so that the
// result still fits. Names that differ only in letter case are different names.
std::vector<std::string> column_names(const std::vector<std::string>& headers);

}  // namespace tdc::csv
