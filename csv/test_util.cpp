#include "csv/test_util.hpp"

#include <gtest/gtest.h>

namespace tdc::csv::testing {

namespace {

std::string describe(const Rejection& rejection) {
    return rejection.error + ": " + rejection.detail;
}

}  // namespace

Document decoded(std::string raw, const Options& options) {
    auto result = decode(std::move(raw), options);
    if (auto* rejection = std::get_if<Rejection>(&result)) {
        ADD_FAILURE() << "decode rejected the input: " << describe(*rejection);
        return Document{};
    }
    return std::get<Document>(std::move(result));
}

Plan planned(std::string raw, const Options& options) {
    const Document document = decoded(std::move(raw), options);
    auto result = analyze(document, options);
    if (auto* rejection = std::get_if<Rejection>(&result)) {
        ADD_FAILURE() << "analyze rejected the input: " << describe(*rejection);
        return Plan{};
    }
    return std::get<Plan>(std::move(result));
}

Rejection rejected(std::string raw, const Options& options) {
    auto document = decode(std::move(raw), options);
    if (auto* rejection = std::get_if<Rejection>(&document)) {
        return *rejection;
    }
    auto plan = analyze(std::get<Document>(document), options);
    if (auto* rejection = std::get_if<Rejection>(&plan)) {
        return *rejection;
    }
    ADD_FAILURE() << "the input was accepted";
    return Rejection{};
}

std::vector<Type> types_of(std::string raw, const Options& options) {
    std::vector<Type> types;
    for (const Column& column : planned(std::move(raw), options).columns) {
        types.push_back(column.type);
    }
    return types;
}

Rows rows_of(std::string raw, const Options& options) {
    const Document document = decoded(std::move(raw), options);
    auto result = analyze(document, options);
    if (auto* rejection = std::get_if<Rejection>(&result)) {
        ADD_FAILURE() << "analyze rejected the input: " << describe(*rejection);
        return {};
    }
    const Plan& plan = std::get<Plan>(result);
    RowReader reader(document, plan);
    Rows rows;
    std::vector<Value> values;
    while (reader.next(values)) {
        rows.push_back(values);
    }
    EXPECT_EQ(rows.size(), plan.rows) << "RowReader and analyze disagree on the row count";
    return rows;
}

std::vector<Value> column_of(std::string raw, std::size_t column, const Options& options) {
    std::vector<Value> values;
    for (const auto& row : rows_of(std::move(raw), options)) {
        values.push_back(row.at(column));
    }
    return values;
}

}  // namespace tdc::csv::testing
