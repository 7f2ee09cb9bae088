// libFuzzer target: any bytes through decode, analyze and RowReader, checking the contract's
// invariants on whatever comes out, and that the piecewise ByteCheck and Analyzer agree with
// the whole-text functions. The first two input bytes pick the options (see
// options_from() and check_forced()); the rest is the upload. A broken invariant aborts, which
// libFuzzer reports as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "csv/copy_binary.hpp"
#include "csv/csv.hpp"
#include "csv/text.hpp"
#include "csv/values.hpp"

namespace tdc::csv {
namespace {

void require(bool condition) {
    if (!condition) {
        std::abort();
    }
}

// Bit 0: decimal comma; bits 1-2: delimiter override; bits 3-4: encoding override (including
// an unsupported one); bits 5-6: max_error_lines. Bit 7 is for table_name().
Options options_from(std::uint8_t bits) {
    static constexpr char kDelimiters[] = {',', ';', '\t'};
    static constexpr const char* kEncodings[] = {"utf-8", "windows-1252", "latin9"};
    Options options;
    options.decimal_comma = (bits & 1) != 0;
    if (((bits >> 1) & 3) != 0) {
        options.delimiter = kDelimiters[((bits >> 1) & 3) - 1];
    }
    if (((bits >> 3) & 3) != 0) {
        options.encoding = kEncodings[((bits >> 3) & 3) - 1];
    }
    options.max_error_lines = (bits >> 5) & 3;
    return options;
}

void check_name(const std::string& name) {
    require(!name.empty() && name.size() <= kMaxNameBytes);
    require(invalid_utf8_offset(name) == std::string_view::npos);
    require(name.front() != ' ' && name.back() != ' ');
}

void check_plan(const Plan& plan) {
    require(!plan.columns.empty() && plan.columns.size() <= kMaxColumns);
    std::set<std::string> names;
    for (const Column& column : plan.columns) {
        check_name(column.name);
        require(names.insert(column.name).second);
    }
}

void check_value(const Column& column, const std::string& value) {
    require(invalid_utf8_offset(value) == std::string_view::npos);
    switch (column.type) {
        case Type::Integer:
            require(integer_width(value) == IntWidth::Int32);
            break;
        case Type::Bigint:
            require(integer_width(value) == IntWidth::Int32 ||
                    integer_width(value) == IntWidth::Int64);
            break;
        case Type::Numeric:
            require(is_plain_decimal(value));
            break;
        case Type::Boolean:
            require(value == "true" || value == "false");
            break;
        case Type::Date:
            require(parse_iso_date(value).has_value());
            break;
        case Type::Timestamp:
            require(parse_iso_date(value) || parse_iso_datetime(value) == Clock::Naive);
            break;
        case Type::TimestampTz:
            require(parse_iso_date(value) || parse_iso_datetime(value) != Clock::None);
            break;
        case Type::Text:
            break;
    }
}

// Every row comes out valid for its column's type, and can be written as binary COPY when the
// plan fits that format.
void check_rows(const Document& document, const Plan& plan, const Options& options) {
    RowReader reader(document, plan);
    const bool binary = binary_copy_fits(plan.columns, options);
    std::vector<char> tuple;
    std::vector<std::optional<std::string>> values;
    std::size_t rows = 0;
    std::size_t last_line = 1;
    while (reader.next(values)) {
        ++rows;
        require(values.size() == plan.columns.size());
        require(reader.line() > last_line);
        last_line = reader.line();
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (values[i]) {
                check_value(plan.columns[i], *values[i]);
            }
        }
        if (binary) {
            tuple.clear();
            require(append_binary_row(tuple, values, plan.columns));
        }
    }
    require(rows == plan.rows);
}

void check_rejection(const Rejection& rejection, const Options& options) {
    require(rejection.status == 400 && !rejection.error.empty() && !rejection.detail.empty());
    require(rejection.lines.size() <= options.max_error_lines);
}

// When bit 3 is set, forces type `bits & 7` on column `bits >> 4` (modulo the column count) and
// checks the outcome: either a plan with that type and valid values, or a "bad_value".
void check_forced(const Document& document, const Plan& plan, Options options, std::uint8_t bits) {
    if ((bits & 8) == 0) {
        return;
    }
    const auto type = static_cast<Type>(bits & 7);
    const std::size_t column = (bits >> 4) % plan.columns.size();
    options.types[plan.columns[column].name] = type;
    const auto forced = analyze(document, options);
    if (const auto* rejection = std::get_if<Rejection>(&forced)) {
        require(rejection->error == "bad_value");
        return;
    }
    const Plan& forced_plan = std::get<Plan>(forced);
    require(forced_plan.columns[column].type == type);
    check_rows(document, forced_plan, options);
}

// ByteCheck, fed `raw` in two pieces cut at `cut`, gives the verdict of the whole-text checks.
void check_bytes(const std::string& raw, std::size_t cut) {
    cut %= raw.size() + 1;
    ByteCheck check;
    check.add(std::string_view(raw).substr(0, cut));
    check.add(std::string_view(raw).substr(cut));
    const bool clean =
        raw.find('\0') == std::string::npos && invalid_utf8_offset(raw) == std::string_view::npos;
    require(check.clean_utf8() == clean);
}

bool same_outcome(const std::variant<Plan, Rejection>& a, const std::variant<Plan, Rejection>& b) {
    if (a.index() != b.index()) {
        return false;
    }
    if (const auto* x = std::get_if<Rejection>(&a)) {
        const auto& y = std::get<Rejection>(b);
        if (x->lines.size() != y.lines.size()) {
            return false;
        }
        for (std::size_t i = 0; i < x->lines.size(); ++i) {
            if (x->lines[i].line != y.lines[i].line || x->lines[i].found != y.lines[i].found) {
                return false;
            }
        }
        return x->error == y.error && x->detail == y.detail;
    }
    const auto& x = std::get<Plan>(a);
    const auto& y = std::get<Plan>(b);
    return x.rows == y.rows && same_columns(x, y);
}

// An Analyzer reading `slice` records at a time ends as analyze() does.
void check_slices(const Document& document, const Options& options,
                  const std::variant<Plan, Rejection>& whole, std::size_t slice) {
    Analyzer analyzer(document, options);
    while (analyzer.read(slice)) {
    }
    require(same_outcome(analyzer.plan(), whole));
}

void run(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return;
    }
    const Options options = options_from(data[0]);
    const std::string raw(reinterpret_cast<const char*>(data + 2), size - 2);

    const std::string table = table_name(raw.substr(0, 200), (data[0] & 0x80) != 0);
    require(!table.empty() && table.size() <= kMaxNameBytes &&
            !(table[0] >= '0' && table[0] <= '9'));

    check_bytes(raw, data[1]);
    auto decoded = decode(raw, options);
    if (const auto* rejection = std::get_if<Rejection>(&decoded)) {
        check_rejection(*rejection, options);
        return;
    }
    const Document& document = std::get<Document>(decoded);
    require(invalid_utf8_offset(document.text) == std::string_view::npos);

    auto analyzed = analyze(document, options);
    check_slices(document, options, analyzed, 1 + (data[1] & 3));
    if (const auto* rejection = std::get_if<Rejection>(&analyzed)) {
        check_rejection(*rejection, options);
        return;
    }
    const Plan& plan = std::get<Plan>(analyzed);
    check_plan(plan);
    check_rows(document, plan, options);
    check_forced(document, plan, options, data[1]);
}

}  // namespace
}  // namespace tdc::csv

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    tdc::csv::run(data, size);
    return 0;
}
