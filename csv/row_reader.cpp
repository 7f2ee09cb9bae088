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

// Field `index` of the current record as its column's type wants it, in `value`, whose
// storage is reused when it holds a string.
void convert(const RecordReader& record, std::size_t index, const Column& column,
             std::optional<std::string>& value) {
    const std::string_view field = record.field(index);
    if (field.empty() && (column.type != Type::Text || !record.quoted(index))) {
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

}  // namespace

void record_values(const RecordReader& record, const std::vector<Column>& columns,
                   std::vector<std::optional<std::string>>& values) {
    values.resize(columns.size());
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (i < record.kept()) {
            convert(record, i, columns[i], values[i]);
        } else {
            values[i].reset();
        }
    }
}

RowReader::RowReader(const Document& document, const Plan& plan)
    : records_(document.text, document.delimiter, plan.columns.size()), columns_(plan.columns) {
    records_.next();  // the header
}

bool RowReader::next(std::vector<std::optional<std::string>>& values) {
    if (!records_.next()) {
        return false;
    }
    record_values(records_, columns_, values);
    return true;
}

}  // namespace tdc::csv
