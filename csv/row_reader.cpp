#include "csv/csv.hpp"
#include "csv/values.hpp"

namespace tdc::csv {

namespace {

// Rewrites a boolean as PostgreSQL's canonical true/false; 0/1 are allowed by forced types.
void put_boolean(std::string_view value, std::string& out) {
    std::optional<bool> truth = parse_bool_word(value);
    if (!truth && (value == "0" || value == "1")) {
        truth = value == "1";
    }
    if (truth) {
        out = *truth ? "true" : "false";
    } else {
        out.assign(value);
    }
}

// Rewrites a day-first or month-first slash date as YYYY-MM-DD.
void put_slash_date(std::string_view value, Layout layout, std::string& out) {
    const std::optional<SlashDate> date = parse_slash_date(value);
    if (!date) {
        out.assign(value);
        return;
    }
    const bool day_first = layout == Layout::DayFirst;
    out.clear();
    append_iso_date(CivilDate{date->year, day_first ? date->second : date->first,
                              day_first ? date->first : date->second},
                    out);
}

}  // namespace

RowReader::RowReader(const Document& document, const Plan& plan)
    : records_(document.text, document.delimiter, plan.columns.size()), columns_(plan.columns) {
    records_.next();  // the header
}

bool RowReader::next(std::vector<std::optional<std::string>>& values) {
    if (!records_.next()) {
        return false;
    }
    values.resize(columns_.size());
    for (std::size_t i = 0; i < columns_.size(); ++i) {
        if (i < records_.kept()) {
            convert(i, values[i]);
        } else {
            values[i].reset();
        }
    }
    return true;
}

// Sets `value` to field `index` of the current record as its column's type wants it. Reuses
// the string's storage when it holds one.
void RowReader::convert(std::size_t index, std::optional<std::string>& value) const {
    const std::string_view field = records_.field(index);
    const Column& column = columns_[index];
    if (field.empty() && (column.type != Type::Text || !records_.quoted(index))) {
        value.reset();
        return;
    }
    std::string& out = value ? *value : value.emplace();
    if (column.type == Type::Boolean) {
        put_boolean(field, out);
    } else if (column.layout == Layout::DayFirst || column.layout == Layout::MonthFirst) {
        put_slash_date(field, column.layout, out);
    } else if (column.layout == Layout::DecimalComma) {
        out.clear();
        append_comma_as_point(field, out);
    } else {
        out.assign(field);
    }
}

}  // namespace tdc::csv
