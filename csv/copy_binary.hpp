// PostgreSQL's binary COPY format. The upload sends each batch of rows to the loader as a block
// of binary COPY tuples (the loader adds the header and trailer) when it can: the server then
// takes numbers, dates and times without parsing their text, which is about half its work in a
// load. Each value is written exactly as PostgreSQL's input function would read its text.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "csv/csv.hpp"

namespace tdc::csv {

// True when rows of `columns` can go as binary COPY: a timestamp with time zone without an
// offset depends on the server's time zone, so a column forced to that type goes as text.
bool binary_copy_fits(const std::vector<Column>& columns, const Options& options);

// Appends `row` as one binary COPY tuple. `row` holds values as RowReader gives them for
// `columns`; nullopt is NULL. Returns false, leaving `out` as it was, when a value is not of
// its column's type: never for rows of a Plan that analyze() made of all the rows, but it can
// happen under the types of the first rows. REQUIRES: binary_copy_fits(columns, ...).
bool append_binary_row(std::vector<char>& out, const std::vector<std::optional<std::string>>& row,
                       const std::vector<Column>& columns);

}  // namespace tdc::csv
