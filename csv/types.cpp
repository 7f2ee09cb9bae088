#include <cctype>
#include <string>

#include "csv/csv.hpp"

namespace tdc::csv {

namespace {

struct Spelling {
    std::string_view name;
    Type type;
};

// Every spelling type_from_sql_name() accepts, in lower case.
constexpr Spelling kSpellings[] = {
    {"integer", Type::Integer},
    {"int", Type::Integer},
    {"int4", Type::Integer},
    {"bigint", Type::Bigint},
    {"int8", Type::Bigint},
    {"numeric", Type::Numeric},
    {"boolean", Type::Boolean},
    {"bool", Type::Boolean},
    {"date", Type::Date},
    {"timestamp without time zone", Type::Timestamp},
    {"timestamp", Type::Timestamp},
    {"timestamp with time zone", Type::TimestampTz},
    {"timestamptz", Type::TimestampTz},
    {"text", Type::Text},
};

}  // namespace

std::string_view sql_name(Type type) {
    switch (type) {
        case Type::Integer:
            return "integer";
        case Type::Bigint:
            return "bigint";
        case Type::Numeric:
            return "numeric";
        case Type::Boolean:
            return "boolean";
        case Type::Date:
            return "date";
        case Type::Timestamp:
            return "timestamp without time zone";
        case Type::TimestampTz:
            return "timestamp with time zone";
        case Type::Text:
            break;
    }
    return "text";
}

std::optional<Type> type_from_sql_name(std::string_view name) {
    std::string lower(name);
    for (char& c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    for (const Spelling& spelling : kSpellings) {
        if (spelling.name == lower) {
            return spelling.type;
        }
    }
    return std::nullopt;
}

}  // namespace tdc::csv
