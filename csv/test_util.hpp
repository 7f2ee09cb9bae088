// Shorthands for the csv tests: run the real decode/analyze/RowReader pipeline on a string.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "csv/csv.hpp"

namespace tdc::csv::testing {

using Value = std::optional<std::string>;
using Rows = std::vector<std::vector<Value>>;

// The Document for `raw`; a rejection fails the test and yields an empty Document.
Document decoded(std::string raw, const Options& options = {});

// The Plan for `raw`; a rejection fails the test and yields an empty Plan.
Plan planned(std::string raw, const Options& options = {});

// The rejection decode() or analyze() gives for `raw`; acceptance fails the test.
Rejection rejected(std::string raw, const Options& options = {});

// The column types analyze() infers for `raw`.
std::vector<Type> types_of(std::string raw, const Options& options = {});

// Every data record's values as RowReader yields them.
Rows rows_of(std::string raw, const Options& options = {});

// One column's values as RowReader yields them.
std::vector<Value> column_of(std::string raw, std::size_t column, const Options& options = {});

}  // namespace tdc::csv::testing
