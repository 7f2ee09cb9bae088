#include "csv/copy_binary.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "csv/values.hpp"

namespace tdc::csv {

namespace {

// PostgreSQL's epoch for dates and times, and its numeric's base.
constexpr std::int64_t kEpochDays = 10957;  // 2000-01-01 after 1970-01-01
constexpr std::int64_t kMicrosPerSecond = 1000000;
constexpr int kNumericBaseDigits = 4;  // decimal digits per base-10000 digit
constexpr std::uint16_t kNumericPositive = 0x0000;
constexpr std::uint16_t kNumericNegative = 0x4000;

// Where the next byte of a tuple goes, in room made for the whole tuple.
struct Cursor {
    char* at;

    void bytes(const char* data, std::size_t size) {
        std::memcpy(at, data, size);
        at += size;
    }
};

// Writes `value` in network byte order.
template <class Integer>
void put(Cursor& out, Integer value) {
    const auto bits = static_cast<std::make_unsigned_t<Integer>>(value);
    for (std::size_t i = 0; i < sizeof(Integer); ++i) {
        out.at[i] = static_cast<char>((bits >> (8 * (sizeof(Integer) - 1 - i))) & 0xFF);
    }
    out.at += sizeof(Integer);
}

// The most bytes a value takes as a field, its length included.
std::size_t field_bound(const Column& column, const std::optional<std::string>& value) {
    if (!value) {
        return 4;
    }
    switch (column.type) {
        case Type::Numeric:  // 8 bytes of head, 2 per 4 digits, with room to align them
            return 4 + 8 + 2 * (value->size() / 4 + 2);
        case Type::Text:
            return 4 + value->size();
        default:
            return 4 + 8;
    }
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// [+-]digits within the range of Integer.
template <class Integer>
std::optional<Integer> parse_integer(std::string_view text) {
    const bool negative = !text.empty() && text[0] == '-';
    if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
        text.remove_prefix(1);
    }
    if (text.empty()) {
        return std::nullopt;
    }
    // Accumulate downwards so that the most negative value fits.
    Integer value = 0;
    for (const char c : text) {
        if (!is_digit(c) || value < (std::numeric_limits<Integer>::min() + (c - '0')) / 10) {
            return std::nullopt;
        }
        value = static_cast<Integer>(value * 10 - (c - '0'));
    }
    if (!negative && value == std::numeric_limits<Integer>::min()) {
        return std::nullopt;
    }
    return negative ? value : static_cast<Integer>(-value);
}

// Days from 1970-01-01 to a proleptic Gregorian date.
std::int64_t days_from_civil(int year, int month, int day) {
    const int y = year - (month <= 2 ? 1 : 0);
    const int era = y / 400;
    const int year_of_era = y - era * 400;
    const int day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    const int day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return static_cast<std::int64_t>(era) * 146097 + day_of_era - 719468;
}

int digits_at(std::string_view text, std::size_t pos, std::size_t count) {
    int number = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        number = number * 10 + (text[i] - '0');
    }
    return number;
}

// Microseconds of a fraction of a second ".ddd", as PostgreSQL 15 reads it: the nearest double,
// times a million, rounded to even.
std::int64_t fraction_micros(std::string_view fraction) {
    double value = 0;
    std::from_chars(fraction.data(), fraction.data() + fraction.size(), value);
    return static_cast<std::int64_t>(std::nearbyint(value * 1e6));
}

// A date-time checked by parse_iso_date() / parse_iso_datetime(): days since PostgreSQL's epoch
// and microseconds into the day, then the offset east of UTC in seconds, when it has one.
struct DateTime {
    std::int64_t days = 0;
    std::int64_t micros = 0;
    std::optional<std::int64_t> offset_seconds;
};

DateTime read_date_time(std::string_view text) {
    DateTime result;
    result.days =
        days_from_civil(digits_at(text, 0, 4), digits_at(text, 5, 2), digits_at(text, 8, 2)) -
        kEpochDays;
    if (text.size() == 10) {
        return result;
    }
    std::int64_t seconds = digits_at(text, 11, 2) * 3600 + digits_at(text, 14, 2) * 60;
    std::size_t pos = 16;
    if (pos < text.size() && text[pos] == ':') {
        seconds += digits_at(text, 17, 2);
        pos = 19;
    }
    result.micros = seconds * kMicrosPerSecond;
    if (pos < text.size() && text[pos] == '.') {
        std::size_t end = pos + 1;
        while (end < text.size() && is_digit(text[end])) {
            ++end;
        }
        result.micros += fraction_micros(text.substr(pos, end - pos));
        pos = end;
    }
    const std::string_view zone = text.substr(pos);
    if (zone == "Z" || zone == "z") {
        result.offset_seconds = 0;
    } else if (!zone.empty()) {
        const std::size_t minutes_at = zone.size() == 6 ? 4 : 3;
        const int minutes = zone.size() > 3 ? digits_at(zone, minutes_at, 2) : 0;
        const std::int64_t east = digits_at(zone, 1, 2) * 3600 + minutes * 60;
        result.offset_seconds = zone[0] == '-' ? -east : east;
    }
    return result;
}

// A plain decimal number (is_plain_decimal()) as PostgreSQL's numeric_in reads it, in
// numeric's binary form: its digits go in base-10000 digits aligned on the decimal point, the
// display scale is the digits after the point less the exponent, and the server drops the
// zero digits at either end.
void put_numeric(Cursor& out, std::string_view text) {
    std::uint16_t sign = kNumericPositive;
    if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
        sign = text[0] == '-' ? kNumericNegative : kNumericPositive;
        text.remove_prefix(1);
    }
    std::size_t mantissa_end = 0;
    while (mantissa_end < text.size() && text[mantissa_end] != 'e' && text[mantissa_end] != 'E') {
        ++mantissa_end;
    }
    const std::string_view mantissa = text.substr(0, mantissa_end);
    const std::size_t point = std::min(mantissa.find('.'), mantissa.size());
    const int count = static_cast<int>(mantissa.size() - (point < mantissa.size() ? 1 : 0));
    int weight10 = static_cast<int>(point) - 1;  // decimal place of the first digit
    int scale = count - static_cast<int>(point);
    if (mantissa_end < text.size()) {
        std::string_view exponent_text = text.substr(mantissa_end + 1);
        if (!exponent_text.empty() && exponent_text[0] == '+') {
            exponent_text.remove_prefix(1);
        }
        int exponent = 0;
        std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(),
                        exponent);
        weight10 += exponent;
        scale = std::max(0, scale - exponent);
    }
    const int weight = weight10 >= 0 ? (weight10 + kNumericBaseDigits) / kNumericBaseDigits - 1
                                     : -((-weight10 - 1) / kNumericBaseDigits + 1);
    const int offset = (weight + 1) * kNumericBaseDigits - (weight10 + 1);
    const int base_digits = (count + offset + kNumericBaseDigits - 1) / kNumericBaseDigits;
    // The k-th decimal digit of the number, counted from `offset` zeros before the first.
    const auto digit = [&](int k) {
        k -= offset;
        if (k < 0 || k >= count) {
            return 0;
        }
        return mantissa[static_cast<std::size_t>(k) + (static_cast<std::size_t>(k) >= point)] - '0';
    };

    put<std::int32_t>(out, 8 + 2 * base_digits);
    put<std::int16_t>(out, static_cast<std::int16_t>(base_digits));
    put<std::int16_t>(out, static_cast<std::int16_t>(weight));
    put<std::uint16_t>(out, sign);
    put<std::uint16_t>(out, static_cast<std::uint16_t>(scale));
    for (int n = 0; n < base_digits; ++n) {
        const int k = n * kNumericBaseDigits;
        const int base = ((digit(k) * 10 + digit(k + 1)) * 10 + digit(k + 2)) * 10 + digit(k + 3);
        put<std::int16_t>(out, static_cast<std::int16_t>(base));
    }
}

// Writes `value` as a field of `column`'s type; returns false, having written part of it, when
// it is not of that type.
bool put_value(Cursor& out, const Column& column, const std::string& value) {
    switch (column.type) {
        case Type::Integer: {
            const auto number = parse_integer<std::int32_t>(value);
            if (!number) {
                return false;
            }
            put<std::int32_t>(out, 4);
            put<std::int32_t>(out, *number);
            return true;
        }
        case Type::Bigint: {
            const auto number = parse_integer<std::int64_t>(value);
            if (!number) {
                return false;
            }
            put<std::int32_t>(out, 8);
            put<std::int64_t>(out, *number);
            return true;
        }
        case Type::Numeric:
            if (!is_plain_decimal(value)) {
                return false;
            }
            put_numeric(out, value);
            return true;
        case Type::Boolean:
            if (value != "true" && value != "false") {
                return false;
            }
            put<std::int32_t>(out, 1);
            *out.at++ = value == "true" ? 1 : 0;
            return true;
        case Type::Date:
            if (!parse_iso_date(value)) {
                return false;
            }
            put<std::int32_t>(out, 4);
            put<std::int32_t>(out, static_cast<std::int32_t>(read_date_time(value).days));
            return true;
        case Type::Timestamp:
        case Type::TimestampTz: {
            const bool zoned = column.type == Type::TimestampTz;
            const Clock clock = value.size() == 10 && parse_iso_date(value)
                                    ? Clock::Naive
                                    : parse_iso_datetime(value);
            if (clock != (zoned ? Clock::Zoned : Clock::Naive)) {
                return false;
            }
            const DateTime time = read_date_time(value);
            put<std::int32_t>(out, 8);
            put<std::int64_t>(out, time.days * 86400 * kMicrosPerSecond + time.micros -
                                       time.offset_seconds.value_or(0) * kMicrosPerSecond);
            return true;
        }
        case Type::Text:
            put<std::int32_t>(out, static_cast<std::int32_t>(value.size()));
            out.bytes(value.data(), value.size());
            return true;
    }
    return true;
}

}  // namespace

bool binary_copy_fits(const std::vector<Column>& columns, const Options& options) {
    for (const Column& column : columns) {
        const auto forced = options.types.find(column.name);
        if (column.type == Type::TimestampTz && forced != options.types.end()) {
            return false;
        }
    }
    return true;
}

bool append_binary_row(std::vector<char>& out, const std::vector<std::optional<std::string>>& row,
                       const std::vector<Column>& columns) {
    static const std::optional<std::string> kNull;
    const auto value = [&row](std::size_t i) -> const std::optional<std::string>& {
        return i < row.size() ? row[i] : kNull;
    };
    std::size_t bound = 2;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        bound += field_bound(columns[i], value(i));
    }
    const std::size_t start = out.size();
    out.resize(start + bound);
    Cursor cursor{out.data() + start};
    put<std::int16_t>(cursor, static_cast<std::int16_t>(columns.size()));
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (!value(i)) {
            put<std::int32_t>(cursor, -1);
        } else if (!put_value(cursor, columns[i], *value(i))) {
            out.resize(start);
            return false;
        }
    }
    out.resize(static_cast<std::size_t>(cursor.at - out.data()));
    return true;
}

}  // namespace tdc::csv
