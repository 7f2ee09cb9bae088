#include <algorithm>
#include <limits>
#include <string>

#include "csv/csv.hpp"
#include "csv/infer.hpp"
#include "csv/names.hpp"

namespace tdc::csv {

namespace {

Rejection reject(std::string error, std::string detail) {
    return Rejection{400, std::move(error), std::move(detail), {}};
}

std::string plural(std::size_t count, std::string_view one, std::string_view many) {
    return std::to_string(count) + " " + std::string(count == 1 ? one : many);
}

Rejection unterminated_quote(std::size_t line) {
    return reject("unterminated_quote", "The quoted field that begins at line " +
                                            std::to_string(line) +
                                            " is never closed: a closing \" is missing.");
}

// Collects records whose field count differs from the header's.
class RaggedRows {
public:
    RaggedRows(std::size_t expected, std::size_t max_lines)
        : expected_(expected), max_lines_(max_lines) {}

    // Notes the record at `line` when its field count `found` is wrong.
    void check(std::size_t line, std::size_t found) {
        if (found == expected_) {
            return;
        }
        if (lines_.size() < max_lines_) {
            lines_.push_back(LineError{line, found, expected_});
        }
        if (count_++ == 0) {
            first_ = LineError{line, found, expected_};
        }
    }

    bool any() const { return count_ > 0; }

    // The rejection naming the records noted.
    Rejection rejection() const {
        Rejection rejection =
            reject("ragged_rows",
                   plural(count_, "row has", "rows have") + " the wrong number of fields (" +
                       (count_ == 1 ? "" : "first ") + "at line " + std::to_string(first_.line) +
                       ": " + plural(first_.found, "field", "fields") + ", expected " +
                       std::to_string(expected_) + ").");
        rejection.lines = lines_;
        return rejection;
    }

private:
    std::size_t expected_;
    std::size_t max_lines_;
    std::size_t count_ = 0;
    LineError first_;
    std::vector<LineError> lines_;
};

// Names the columns from the header record the reader holds.
std::vector<Column> header_columns(const RecordReader& header) {
    std::vector<std::string> texts;
    texts.reserve(header.size());
    for (std::size_t i = 0; i < header.size(); ++i) {
        texts.emplace_back(header.field(i));
    }
    std::vector<std::string> names = column_names(texts);

    std::vector<Column> columns(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        columns[i].name = std::move(names[i]);
        columns[i].header = std::move(texts[i]);
    }
    return columns;
}

// Refuses type overrides for columns that do not exist.
std::optional<Rejection> check_overrides(const std::vector<Column>& columns,
                                         const Options& options) {
    std::string unknown;
    for (const auto& [name, type] : options.types) {
        const auto named = [&name = name](const Column& column) { return column.name == name; };
        if (std::find_if(columns.begin(), columns.end(), named) == columns.end()) {
            unknown += (unknown.empty() ? "\"" : ", \"") + name + "\"";
        }
    }
    if (unknown.empty()) {
        return std::nullopt;
    }
    return reject("bad_type_override",
                  "A type is given for " + unknown +
                      ", but the file has no column of that name (names are matched after blank "
                      "and repeated headers are renamed).");
}

// Decides each column's type and layout: the forced type when options.types has one.
std::optional<Rejection> assign_types(std::vector<Column>& columns,
                                      const std::vector<ColumnStats>& stats,
                                      const Options& options) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
        const auto forced = options.types.find(columns[i].name);
        if (forced == options.types.end()) {
            const Typing typing = stats[i].infer();
            columns[i].type = typing.type;
            columns[i].layout = typing.layout;
            continue;
        }
        const std::optional<Typing> typing = stats[i].force(forced->second);
        if (!typing) {
            return reject("bad_value", stats[i].misfit(columns[i].name, forced->second));
        }
        columns[i].type = typing->type;
        columns[i].layout = typing->layout;
    }
    return std::nullopt;
}

// Reads the header record; refuses a file without one, an open quote in it, or too many
// columns.
std::optional<Rejection> read_header(RecordReader& records) {
    if (!records.next()) {
        return reject("empty_file",
                      "The file has no header line: it holds nothing but line breaks or a "
                      "byte-order mark.");
    }
    if (records.unterminated_quote_line() != 0) {
        return unterminated_quote(records.unterminated_quote_line());
    }
    if (records.size() > kMaxColumns) {
        return reject("too_many_columns", "The header has " + std::to_string(records.size()) +
                                              " columns; PostgreSQL allows at most " +
                                              std::to_string(kMaxColumns) + ".");
    }
    return std::nullopt;
}

}  // namespace

struct Analyzer::State {
    State(const Document& document, const Options& options)
        : options(options), records(document.text, document.delimiter, kMaxColumns) {}

    const Options options;
    RecordReader records;
    std::optional<Rejection> refusal;  // what the header alone refuses
    std::vector<Column> columns;
    std::vector<ColumnStats> stats;
    std::optional<RaggedRows> ragged;
    std::size_t rows = 0;
};

Analyzer::Analyzer(const Document& document, const Options& options)
    : state_(std::make_unique<State>(document, options)) {
    State& state = *state_;
    state.refusal = read_header(state.records);
    if (state.refusal) {
        return;
    }
    state.columns = header_columns(state.records);
    state.refusal = check_overrides(state.columns, options);
    state.stats.assign(state.columns.size(), ColumnStats(options.decimal_comma));
    state.ragged.emplace(state.columns.size(), options.max_error_lines);
}

Analyzer::~Analyzer() = default;

// Feeds non-empty values to the column statistics and field counts to the ragged-row check.
bool Analyzer::read(std::size_t count, const std::function<void(const RecordReader&)>& each) {
    State& state = *state_;
    if (state.refusal) {
        return false;
    }
    std::size_t read = 0;
    while (read < count && state.records.next()) {
        ++read;
        ++state.rows;
        state.ragged->check(state.records.line(), state.records.size());
        if (state.ragged->any()) {
            continue;  // the upload will be refused; inference would be wasted
        }
        for (std::size_t i = 0; i < state.stats.size(); ++i) {
            const std::string_view value = state.records.field(i);
            if (!value.empty()) {
                state.stats[i].add(value, state.records.line());
            }
        }
        if (each) {
            each(state.records);
        }
    }
    return read > 0;
}

std::variant<Plan, Rejection> Analyzer::plan() const {
    const State& state = *state_;
    if (state.refusal) {
        return *state.refusal;
    }
    if (state.records.unterminated_quote_line() != 0) {
        return unterminated_quote(state.records.unterminated_quote_line());
    }
    if (state.ragged->any()) {
        return state.ragged->rejection();
    }
    Plan plan;
    plan.columns = state.columns;
    plan.rows = state.rows;
    if (std::optional<Rejection> rejection =
            assign_types(plan.columns, state.stats, state.options)) {
        return *rejection;
    }
    return plan;
}

std::size_t Analyzer::rows() const {
    return state_->rows;
}

std::size_t Analyzer::offset() const {
    return state_->records.offset();
}

std::variant<Plan, Rejection> analyze(const Document& document, const Options& options) {
    Analyzer analyzer(document, options);
    analyzer.read(std::numeric_limits<std::size_t>::max());
    return analyzer.plan();
}

bool same_columns(const Plan& a, const Plan& b) {
    const auto same = [](const Column& x, const Column& y) {
        return x.name == y.name && x.type == y.type && x.layout == y.layout;
    };
    return std::equal(a.columns.begin(), a.columns.end(), b.columns.begin(), b.columns.end(), same);
}

}  // namespace tdc::csv
