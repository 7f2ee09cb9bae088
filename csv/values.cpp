#include "csv/values.hpp"

#include <cstdint>

namespace tdc::csv {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Skips one leading '+' or '-'.
std::size_t sign_length(std::string_view value) {
    return !value.empty() && (value[0] == '+' || value[0] == '-') ? 1 : 0;
}

// Counts the digits starting at `pos`.
std::size_t digit_run(std::string_view value, std::size_t pos) {
    std::size_t end = pos;
    while (end < value.size() && is_digit(value[end])) {
        ++end;
    }
    return end - pos;
}

// Reads exactly `count` digits at `pos` as a number, or -1 when any is not a digit.
int fixed_number(std::string_view value, std::size_t pos, std::size_t count) {
    if (pos + count > value.size()) {
        return -1;
    }
    int number = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        if (!is_digit(value[i])) {
            return -1;
        }
        number = number * 10 + (value[i] - '0');
    }
    return number;
}

bool equals_ignoring_case(std::string_view value, std::string_view lower_word) {
    if (value.size() != lower_word.size()) {
        return false;
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i] >= 'A' && value[i] <= 'Z' ? value[i] - 'A' + 'a' : value[i];
        if (c != lower_word[i]) {
            return false;
        }
    }
    return true;
}

// Parses HH:MM[:SS[.fraction]] at `pos`; returns the position after it, or 0 on failure.
std::size_t parse_time(std::string_view value, std::size_t pos) {
    const int hour = fixed_number(value, pos, 2);
    const int minute = fixed_number(value, pos + 3, 2);
    if (pos + 5 > value.size() || value[pos + 2] != ':' || hour < 0 || hour > 23 || minute < 0 ||
        minute > 59) {
        return 0;
    }
    pos += 5;
    if (pos == value.size() || value[pos] != ':') {
        return pos;
    }
    const int second = fixed_number(value, pos + 1, 2);
    if (second < 0 || second > 59) {
        return 0;
    }
    pos += 3;
    if (pos == value.size() || value[pos] != '.') {
        return pos;
    }
    const std::size_t digits = digit_run(value, pos + 1);
    return digits >= 1 && digits <= 9 ? pos + 1 + digits : 0;
}

// True when value[pos..] is exactly Z, +HH, +HHMM or +HH:MM (or with '-').
bool is_offset(std::string_view value, std::size_t pos) {
    const std::string_view rest = value.substr(pos);
    if (rest == "Z" || rest == "z") {
        return true;
    }
    if (rest.size() < 3 || (rest[0] != '+' && rest[0] != '-')) {
        return false;
    }
    const int hours = fixed_number(rest, 1, 2);
    if (hours < 0 || hours > 15) {
        return false;
    }
    if (rest.size() == 3) {
        return true;
    }
    const bool colon = rest.size() == 6 && rest[3] == ':';
    if (rest.size() != 5 && !colon) {
        return false;
    }
    const int minutes = fixed_number(rest, colon ? 4 : 3, 2);
    return minutes >= 0 && minutes <= 59;
}

}  // namespace

IntWidth integer_width(std::string_view value) {
    const std::size_t sign = sign_length(value);
    if (value.size() == sign || digit_run(value, sign) != value.size() - sign) {
        return IntWidth::None;
    }
    std::size_t first = sign;
    while (first + 1 < value.size() && value[first] == '0') {
        ++first;
    }
    if (value.size() - first > 19) {
        return IntWidth::Wider;
    }

    std::uint64_t magnitude = 0;
    for (std::size_t i = first; i < value.size(); ++i) {
        magnitude = magnitude * 10 + static_cast<std::uint64_t>(value[i] - '0');
    }
    const bool negative = value[0] == '-';
    const std::uint64_t int32_limit = negative ? 2147483648ULL : 2147483647ULL;
    const std::uint64_t int64_limit = negative ? 9223372036854775808ULL : 9223372036854775807ULL;
    if (magnitude <= int32_limit) {
        return IntWidth::Int32;
    }
    return magnitude <= int64_limit ? IntWidth::Int64 : IntWidth::Wider;
}

bool is_plain_decimal(std::string_view value) {
    if (value.size() > kMaxNumberLength) {
        return false;
    }
    std::size_t pos = sign_length(value);
    std::size_t digits = digit_run(value, pos);
    pos += digits;
    if (pos < value.size() && value[pos] == '.') {
        const std::size_t fraction = digit_run(value, pos + 1);
        digits += fraction;
        pos += 1 + fraction;
    }
    if (digits == 0) {
        return false;
    }
    if (pos == value.size()) {
        return true;
    }
    if (value[pos] != 'e' && value[pos] != 'E') {
        return false;
    }
    ++pos;
    pos += sign_length(value.substr(pos));
    const std::size_t exponent_digits = digit_run(value, pos);
    if (exponent_digits == 0 || pos + exponent_digits != value.size()) {
        return false;
    }
    while (pos + 1 < value.size() && value[pos] == '0') {
        ++pos;
    }
    return value.size() - pos <= 3 || (value.size() - pos == 4 && value.substr(pos) == "1000");
}

bool is_comma_decimal(std::string_view value) {
    if (value.size() > kMaxNumberLength) {
        return false;
    }
    std::size_t pos = sign_length(value);
    const std::size_t lead = digit_run(value, pos);
    if (lead == 0) {
        return false;
    }
    pos += lead;
    if (lead <= 3) {
        while (pos < value.size() && value[pos] == '.' && digit_run(value, pos + 1) == 3) {
            pos += 4;
        }
    }
    if (pos < value.size() && value[pos] == ',') {
        const std::size_t fraction = digit_run(value, pos + 1);
        if (fraction == 0) {
            return false;
        }
        pos += 1 + fraction;
    }
    return pos == value.size();
}

bool has_redundant_zero(std::string_view value) {
    const std::size_t sign = sign_length(value);
    return digit_run(value, sign) > 1 && value[sign] == '0';
}

std::optional<bool> parse_bool_word(std::string_view value) {
    if (equals_ignoring_case(value, "true") || equals_ignoring_case(value, "t") ||
        equals_ignoring_case(value, "yes")) {
        return true;
    }
    if (equals_ignoring_case(value, "false") || equals_ignoring_case(value, "f") ||
        equals_ignoring_case(value, "no")) {
        return false;
    }
    return std::nullopt;
}

bool valid_date(int year, int month, int day) {
    static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) {
        return false;
    }
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    const int days = kDaysInMonth[month - 1] + (month == 2 && leap ? 1 : 0);
    return day <= days;
}

std::optional<CivilDate> parse_iso_date(std::string_view value) {
    if (value.size() != 10 || value[4] != '-' || value[7] != '-') {
        return std::nullopt;
    }
    const CivilDate date{fixed_number(value, 0, 4), fixed_number(value, 5, 2),
                         fixed_number(value, 8, 2)};
    if (!valid_date(date.year, date.month, date.day)) {
        return std::nullopt;
    }
    return date;
}

Clock parse_iso_datetime(std::string_view value) {
    if (value.size() < 16 || (value[10] != 'T' && value[10] != ' ') ||
        !parse_iso_date(value.substr(0, 10))) {
        return Clock::None;
    }
    const std::size_t end = parse_time(value, 11);
    if (end == 0) {
        return Clock::None;
    }
    if (end == value.size()) {
        return Clock::Naive;
    }
    return is_offset(value, end) ? Clock::Zoned : Clock::None;
}

std::optional<SlashDate> parse_slash_date(std::string_view value) {
    const std::size_t first_digits = digit_run(value, 0);
    if (first_digits < 1 || first_digits > 2 || first_digits >= value.size() ||
        value[first_digits] != '/') {
        return std::nullopt;
    }
    const std::size_t second_at = first_digits + 1;
    const std::size_t second_digits = digit_run(value, second_at);
    const std::size_t year_at = second_at + second_digits + 1;
    if (second_digits < 1 || second_digits > 2 || year_at + 4 != value.size() ||
        value[year_at - 1] != '/') {
        return std::nullopt;
    }
    const SlashDate date{fixed_number(value, 0, first_digits),
                         fixed_number(value, second_at, second_digits),
                         fixed_number(value, year_at, 4)};
    if (date.year < 0) {
        return std::nullopt;
    }
    return date;
}

void append_iso_date(const CivilDate& date, std::string& out) {
    const auto put = [&out](int number, int width) {
        char digits[4];
        for (int i = width - 1; i >= 0; --i) {
            digits[i] = static_cast<char>('0' + number % 10);
            number /= 10;
        }
        out.append(digits, static_cast<std::size_t>(width));
    };
    put(date.year, 4);
    out.push_back('-');
    put(date.month, 2);
    out.push_back('-');
    put(date.day, 2);
}

void append_comma_as_point(std::string_view value, std::string& out) {
    for (const char c : value) {
        if (c == ',') {
            out.push_back('.');
        } else if (c != '.') {
            out.push_back(c);
        }
    }
}

}  // namespace tdc::csv
