// Column type inference: per-column evidence gathered value by value, then one decision.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "csv/csv.hpp"

namespace tdc::csv {

// A column's decided type and the rewrite its values need.
struct Typing {
    Type type = Type::Text;
    Layout layout = Layout::AsIs;
};

// What one value could be: a set of these bits. The bits below kFirstEvidenceFlag must hold
// for every value of a column to allow a type; the others count when any value has them.
inline constexpr std::uint32_t kInt32 = 1u << 0;
inline constexpr std::uint32_t kInt64 = 1u << 1;
// A plain number; in decimal-comma mode a decimal-comma number instead.
inline constexpr std::uint32_t kNumeric = 1u << 2;
// true/false, t/f, yes/no.
inline constexpr std::uint32_t kBoolWord = 1u << 3;
// A bool word, 0 or 1.
inline constexpr std::uint32_t kBoolish = 1u << 4;
// YYYY-MM-DD.
inline constexpr std::uint32_t kIsoDate = 1u << 5;
// An ISO date, or an ISO date-time without offset.
inline constexpr std::uint32_t kIsoNaive = 1u << 6;
// An ISO date, or an ISO date-time with or without offset.
inline constexpr std::uint32_t kIsoAny = 1u << 7;
// An ISO date-time with an offset or Z.
inline constexpr std::uint32_t kIsoZoned = 1u << 8;
// A real date when read as D/M/YYYY; as M/D/YYYY; in at least one of the two readings.
inline constexpr std::uint32_t kDayFirst = 1u << 9;
inline constexpr std::uint32_t kMonthFirst = 1u << 10;
inline constexpr std::uint32_t kSlashDate = 1u << 11;

inline constexpr std::uint32_t kFirstEvidenceFlag = 1u << 12;
// A number written with a redundant leading zero.
inline constexpr std::uint32_t kRedundantZero = 1u << 12;
// An ISO date-time, not a bare date.
inline constexpr std::uint32_t kHasTime = 1u << 13;
// A real D/M/YYYY date whose first number is above 12; an M/D/YYYY date whose second is.
inline constexpr std::uint32_t kSettlesDayFirst = 1u << 14;
inline constexpr std::uint32_t kSettlesMonthFirst = 1u << 15;

// Returns the flag bits that describe a non-empty value.
std::uint32_t classify(std::string_view value, bool decimal_comma);

// Evidence about one column over all its non-empty values.
//
// Decisions (the contract's, plus the choices it leaves open):
// - Integer, bigint, numeric, boolean, date, timestamp, timestamptz are tried in that order;
//   the first that every value allows wins; otherwise text. A column without values is text.
// - A redundant leading zero in any number keeps the column out of the numeric types.
// - A column mixing ISO dates and ISO date-times without offset is timestamp (dates are
//   midnight). A column mixing values with and without offset is text, because PostgreSQL's
//   timestamp type would silently drop the offsets and timestamptz would guess a zone.
// - Slash dates are a date only when some value settles the order and none contradicts it;
//   a column mixing slash and ISO dates is text.
// - In decimal-comma mode, numeric means decimal-comma numbers ("1.5" is then text).
class ColumnStats {
public:
    explicit ColumnStats(bool decimal_comma) : decimal_comma_(decimal_comma) {}

    // Records a non-empty value found on `line`.
    void add(std::string_view value, std::size_t line);

    // The contract's type for the values seen.
    Typing infer() const;

    // How the values load as `type` chosen by the user, or nullopt when some value cannot. A
    // forced type is laxer than inference: "007" can be an integer, 0/1 a boolean, an ISO date
    // or a settled slash date a timestamp, and values without offset a timestamptz.
    std::optional<Typing> force(Type type) const;

    // A sentence saying why force(type) failed for the column named `column`.
    std::string misfit(std::string_view column, Type type) const;

private:
    struct Misfit {
        std::size_t line = 0;  // 0: no value has lacked the flag
        std::string sample;    // the value, cut to a readable length
    };

    std::optional<Typing> as(Type type, bool strict) const;
    std::optional<Layout> slash_layout() const;
    bool all(std::uint32_t flags) const { return (all_ & flags) == flags; }
    bool any(std::uint32_t flags) const { return (any_ & flags) != 0; }
    const Misfit& misfit_of(std::uint32_t flag) const;
    const Misfit& later_misfit(std::uint32_t flag_a, std::uint32_t flag_b) const;

    static constexpr std::size_t kCheckedFlags = 12;

    bool decimal_comma_;
    bool seen_ = false;
    std::uint32_t all_ = ~0u;
    std::uint32_t any_ = 0;
    std::array<Misfit, kCheckedFlags> misfits_{};
};

}  // namespace tdc::csv
