// Recognisers for the value syntaxes the contract types, and the rewrites RowReader applies.
// Each takes a whole field and never allocates.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tdc::csv {

// How wide an integer is; Wider is integer syntax beyond 64 bits.
enum class IntWidth { None, Int32, Int64, Wider };

// [+-]digits, leading zeros allowed ("007" is Int32; see has_redundant_zero()).
IntWidth integer_width(std::string_view value);

// Plain decimal number: [+-] then digits with an optional '.', at least one digit, then an
// optional exponent [eE][+-]digits of magnitude at most 1000 (PostgreSQL's numeric limit).
// Values longer than kMaxNumberLength are refused so that numeric input always fits.
bool is_plain_decimal(std::string_view value);

// Decimal-comma number: [+-] then digits, or 1-3 digits followed by groups of '.' and 3 digits,
// then optionally ',' and digits: "1.234,56", "7,5", and "1.234" (which is 1234).
bool is_comma_decimal(std::string_view value);

// True when a number's integer digits have a redundant leading zero: "007", "-01", "00.5",
// "02,5"; false for "0", "0.5", "-0", ".5".
bool has_redundant_zero(std::string_view value);

// true/false, t/f, yes/no in any letter case; nullopt for anything else (including 0 and 1).
std::optional<bool> parse_bool_word(std::string_view value);

struct CivilDate {
    int year = 0;
    int month = 0;
    int day = 0;
};

// True for a real calendar day in years 1-9999.
bool valid_date(int year, int month, int day);

// YYYY-MM-DD naming a real calendar day.
std::optional<CivilDate> parse_iso_date(std::string_view value);

// ISO date-time: an ISO date, 'T' or ' ', HH:MM, optional :SS with an optional 1-9 digit
// fraction, then optionally 'Z' or an offset +HH, +HHMM or +HH:MM (hours up to 15).
enum class Clock { None, Naive, Zoned };
Clock parse_iso_datetime(std::string_view value);

// N/N/YYYY with 1-2 digit numbers; which number is the day is left to the caller.
struct SlashDate {
    int first = 0;
    int second = 0;
    int year = 0;
};
std::optional<SlashDate> parse_slash_date(std::string_view value);

// Appends `date` as YYYY-MM-DD.
void append_iso_date(const CivilDate& date, std::string& out);

// Appends a decimal-comma number in plain syntax: '.' dropped, ',' becomes '.'.
void append_comma_as_point(std::string_view value, std::string& out);

// Longest number accepted as numeric; far inside PostgreSQL's numeric limits.
inline constexpr std::size_t kMaxNumberLength = 1000;

}  // namespace tdc::csv
