#include "csv/infer.hpp"

#include "csv/text.hpp"
#include "csv/values.hpp"

namespace tdc::csv {

namespace {

// How much of a value a message quotes.
constexpr std::size_t kSampleBytes = 40;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// The bit number of a single-bit flag.
std::size_t flag_index(std::uint32_t flag) {
    std::size_t index = 0;
    while ((flag >>= 1) != 0) {
        ++index;
    }
    return index;
}

bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::uint32_t number_flags(std::string_view value, bool decimal_comma) {
    std::uint32_t flags = 0;
    const IntWidth width = integer_width(value);
    if (width == IntWidth::Int32) {
        flags |= kInt32 | kInt64;
    } else if (width == IntWidth::Int64) {
        flags |= kInt64;
    }
    if (decimal_comma ? is_comma_decimal(value) : is_plain_decimal(value)) {
        flags |= kNumeric;
    }
    if ((width != IntWidth::None || (flags & kNumeric) != 0) && has_redundant_zero(value)) {
        flags |= kRedundantZero;
    }
    if (value == "0" || value == "1") {
        flags |= kBoolish;
    }
    return flags;
}

std::uint32_t iso_flags(std::string_view value) {
    if (value.size() == 10) {
        return parse_iso_date(value) ? kIsoDate | kIsoNaive | kIsoAny : 0;
    }
    switch (parse_iso_datetime(value)) {
        case Clock::Naive:
            return kIsoNaive | kIsoAny | kHasTime;
        case Clock::Zoned:
            return kIsoZoned | kIsoAny | kHasTime;
        case Clock::None:
            break;
    }
    return 0;
}

std::uint32_t slash_flags(std::string_view value) {
    const std::optional<SlashDate> date = parse_slash_date(value);
    if (!date) {
        return 0;
    }
    std::uint32_t flags = 0;
    if (valid_date(date->year, date->second, date->first)) {
        flags |= kDayFirst | kSlashDate | (date->first > 12 ? kSettlesDayFirst : 0);
    }
    if (valid_date(date->year, date->first, date->second)) {
        flags |= kMonthFirst | kSlashDate | (date->second > 12 ? kSettlesMonthFirst : 0);
    }
    return flags;
}

// Names what a forced type needs, for messages.
std::string_view wanted(Type type, bool decimal_comma) {
    switch (type) {
        case Type::Integer:
            return "a whole number within 32 bits";
        case Type::Bigint:
            return "a whole number within 64 bits";
        case Type::Numeric:
            return decimal_comma ? "a number with a decimal comma" : "a number";
        case Type::Boolean:
            return "true/false, t/f, yes/no or 0/1";
        case Type::Date:
            return "an ISO date or a day/month/year date";
        case Type::Timestamp:
            return "an ISO date or date-time without offset";
        case Type::TimestampTz:
            return "an ISO date or date-time";
        case Type::Text:
            break;
    }
    return "text";
}

}  // namespace

std::uint32_t classify(std::string_view value, bool decimal_comma) {
    const char first = value.empty() ? '\0' : value[0];
    if (is_letter(first)) {
        return parse_bool_word(value) ? kBoolWord | kBoolish : 0;
    }
    if (!is_digit(first) && first != '+' && first != '-' && first != '.') {
        return 0;
    }
    std::uint32_t flags = number_flags(value, decimal_comma);
    if (is_digit(first) && value.size() >= 10 && value[4] == '-') {
        flags |= iso_flags(value);
    } else if (is_digit(first) && value.size() >= 5 && value.size() <= 10 &&
               (value[1] == '/' || value[2] == '/')) {
        flags |= slash_flags(value);
    }
    return flags;
}

void ColumnStats::add(std::string_view value, std::size_t line) {
    const std::uint32_t flags = classify(value, decimal_comma_);
    std::uint32_t lost = all_ & ~flags & (kFirstEvidenceFlag - 1);
    while (lost != 0) {
        Misfit& misfit = misfits_[flag_index(lost & (0u - lost))];
        misfit = Misfit{line, std::string(utf8_prefix(value, kSampleBytes))};
        if (misfit.sample.size() < value.size()) {
            misfit.sample += "...";
        }
        lost &= lost - 1;
    }
    all_ &= flags;
    any_ |= flags;
    seen_ = true;
}

Typing ColumnStats::infer() const {
    static constexpr Type kOrder[] = {Type::Integer,    Type::Bigint, Type::Numeric,
                                      Type::Boolean,    Type::Date,   Type::Timestamp,
                                      Type::TimestampTz};
    if (!seen_) {
        return Typing{};
    }
    for (const Type type : kOrder) {
        if (const std::optional<Typing> typing = as(type, true)) {
            return *typing;
        }
    }
    return Typing{};
}

std::optional<Typing> ColumnStats::force(Type type) const {
    if (!seen_) {
        return Typing{type, Layout::AsIs};
    }
    return as(type, false);
}

// `strict` applies the inference rules; otherwise the laxer rules of a forced type.
std::optional<Typing> ColumnStats::as(Type type, bool strict) const {
    const bool zero_ok = !strict || !any(kRedundantZero);
    const auto typed = [type](bool ok, Layout layout = Layout::AsIs) {
        return ok ? std::optional<Typing>(Typing{type, layout}) : std::nullopt;
    };
    const auto dated = [&](bool iso_ok) -> std::optional<Typing> {
        if (iso_ok) {
            return Typing{type, Layout::AsIs};
        }
        const std::optional<Layout> layout = slash_layout();
        return layout ? std::optional<Typing>(Typing{type, *layout}) : std::nullopt;
    };

    switch (type) {
        case Type::Integer:
            return typed(all(kInt32) && zero_ok);
        case Type::Bigint:
            return typed(all(kInt64) && zero_ok);
        case Type::Numeric:
            return typed(all(kNumeric) && zero_ok,
                         decimal_comma_ ? Layout::DecimalComma : Layout::AsIs);
        case Type::Boolean:
            return typed(all(strict ? kBoolWord : kBoolish));
        case Type::Date:
            return dated(all(kIsoDate));
        case Type::Timestamp:
            return strict ? typed(all(kIsoNaive) && any(kHasTime)) : dated(all(kIsoNaive));
        case Type::TimestampTz:
            return strict ? typed(all(kIsoZoned)) : dated(all(kIsoAny));
        case Type::Text:
            return Typing{};
    }
    return std::nullopt;
}

// The order of a column of slash dates, when some value settles it and no value contradicts.
std::optional<Layout> ColumnStats::slash_layout() const {
    const bool day_first = any(kSettlesDayFirst);
    const bool month_first = any(kSettlesMonthFirst);
    if (!all(kSlashDate) || day_first == month_first) {
        return std::nullopt;
    }
    if (day_first && all(kDayFirst)) {
        return Layout::DayFirst;
    }
    if (month_first && all(kMonthFirst)) {
        return Layout::MonthFirst;
    }
    return std::nullopt;
}

std::string ColumnStats::misfit(std::string_view column, Type type) const {
    std::string text = "Column \"" + std::string(column) + "\" is given type " +
                       std::string(sql_name(type)) + ", but ";
    const Misfit* misfit = nullptr;
    switch (type) {
        case Type::Integer:
            misfit = &misfit_of(kInt32);
            break;
        case Type::Bigint:
            misfit = &misfit_of(kInt64);
            break;
        case Type::Numeric:
            misfit = &misfit_of(kNumeric);
            break;
        case Type::Boolean:
            misfit = &misfit_of(kBoolish);
            break;
        case Type::Date:
            misfit = &later_misfit(kIsoDate, kSlashDate);
            break;
        case Type::Timestamp:
            misfit = &later_misfit(kIsoNaive, kSlashDate);
            break;
        case Type::TimestampTz:
            misfit = &later_misfit(kIsoAny, kSlashDate);
            break;
        case Type::Text:
            break;
    }
    if (misfit == nullptr || misfit->line == 0) {
        return text +
               "its day/month order cannot be told: no value has a day or month above 12, "
               "or values disagree.";
    }
    return text + "line " + std::to_string(misfit->line) + " holds \"" + misfit->sample +
           "\", which is not " + std::string(wanted(type, decimal_comma_)) + ".";
}

const ColumnStats::Misfit& ColumnStats::misfit_of(std::uint32_t flag) const {
    return misfits_[flag_index(flag)];
}

// Of two alternative requirements that both failed, the one that failed later: its misfit is
// the value that breaks the format most values have.
const ColumnStats::Misfit& ColumnStats::later_misfit(std::uint32_t flag_a,
                                                     std::uint32_t flag_b) const {
    const Misfit& a = misfit_of(flag_a);
    const Misfit& b = misfit_of(flag_b);
    if (all(flag_b)) {
        return b;  // all slash dates: the order is the problem (line 0)
    }
    return a.line >= b.line ? a : b;
}

}  // namespace tdc::csv
