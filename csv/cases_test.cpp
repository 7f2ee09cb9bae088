// Runs every case of the shared ingest contract (cases/expected.json) through decode, analyze
// and RowReader. The folder comes from the TDC_CASES_DIR environment variable, else from the
// TDC_CASES_DIR compile definition.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "csv/csv.hpp"

namespace tdc::csv {
namespace {

using Json = nlohmann::json;
using Value = std::optional<std::string>;

std::string cases_dir() {
    const char* from_env = std::getenv("TDC_CASES_DIR");
    return from_env != nullptr && *from_env != '\0' ? from_env : TDC_CASES_DIR;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ADD_FAILURE() << "cannot open " << path;
        return {};
    }
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

Json load_cases() {
    const std::string text = read_file(cases_dir() + "/expected.json");
    return text.empty() ? Json::array() : Json::parse(text).at("cases");
}

// Every value of every column, by column name, as RowReader yields them.
std::map<std::string, std::vector<Value>> read_values(const Document& document, const Plan& plan) {
    std::map<std::string, std::vector<Value>> columns;
    RowReader reader(document, plan);
    std::vector<Value> values;
    while (reader.next(values)) {
        for (std::size_t i = 0; i < plan.columns.size(); ++i) {
            columns[plan.columns[i].name].push_back(values[i]);
        }
    }
    return columns;
}

void check_rejection(const Json& expected, const Rejection& rejection) {
    EXPECT_EQ(rejection.status, expected.at("status").get<int>());
    if (expected.contains("error_lines")) {
        EXPECT_EQ(rejection.error, "ragged_rows");
        std::vector<std::size_t> lines;
        for (const LineError& error : rejection.lines) {
            lines.push_back(error.line);
            EXPECT_NE(error.found, error.expected);
        }
        EXPECT_EQ(lines, expected.at("error_lines").get<std::vector<std::size_t>>());
    } else {
        EXPECT_EQ(rejection.error, "empty_file");
    }
}

void check_plan(const Json& expected, const Document& document, const Plan& plan) {
    EXPECT_EQ(expected.at("status").get<int>(), 201);
    EXPECT_EQ(plan.rows, expected.at("rows").get<std::size_t>());
    const Json& columns = expected.at("columns");
    ASSERT_EQ(plan.columns.size(), columns.size());
    for (std::size_t i = 0; i < columns.size(); ++i) {
        EXPECT_EQ(plan.columns[i].name, columns[i].at(0).get<std::string>());
        EXPECT_EQ(sql_name(plan.columns[i].type), columns[i].at(1).get<std::string>())
            << "column " << plan.columns[i].name;
    }
    if (!expected.contains("values")) {
        return;
    }
    const auto actual = read_values(document, plan);
    for (const auto& [name, values] : expected.at("values").items()) {
        std::vector<Value> wanted;
        for (const Json& value : values) {
            wanted.push_back(value.is_null() ? Value() : Value(value.get<std::string>()));
        }
        ASSERT_EQ(actual.count(name), 1u) << "no column " << name;
        EXPECT_EQ(actual.at(name), wanted) << "column " << name;
    }
}

void check_case(const Json& expected) {
    const std::string file = expected.at("file").get<std::string>();
    EXPECT_EQ(table_name(file, true), expected.at("table").get<std::string>());

    auto decoded = decode(read_file(cases_dir() + "/" + file), Options{});
    if (auto* rejection = std::get_if<Rejection>(&decoded)) {
        check_rejection(expected, *rejection);
        return;
    }
    const Document& document = std::get<Document>(decoded);
    auto analyzed = analyze(document, Options{});
    if (auto* rejection = std::get_if<Rejection>(&analyzed)) {
        check_rejection(expected, *rejection);
        return;
    }
    check_plan(expected, document, std::get<Plan>(analyzed));
}

TEST(Cases, ExpectedJsonHasCases) {
    EXPECT_GE(load_cases().size(), 17u);
}

TEST(Cases, EveryCaseComesOutAsExpected) {
    for (const Json& expected : load_cases()) {
        SCOPED_TRACE(expected.at("file").get<std::string>());
        check_case(expected);
    }
}

TEST(Cases, RaggedRowsCarryFieldCounts) {
    const auto decoded = decode(read_file(cases_dir() + "/ragged_rows.csv"), Options{});
    const auto analyzed = analyze(std::get<Document>(decoded), Options{});
    const Rejection& rejection = std::get<Rejection>(analyzed);
    ASSERT_EQ(rejection.lines.size(), 2u);
    EXPECT_EQ(rejection.lines[0].found, 3u);
    EXPECT_EQ(rejection.lines[0].expected, 5u);
    EXPECT_EQ(rejection.lines[1].found, 6u);
    EXPECT_EQ(rejection.lines[1].expected, 5u);
}

TEST(Cases, Windows1252FileIsSaidToBeWindows1252) {
    const auto decoded = decode(read_file(cases_dir() + "/windows_1252.csv"), Options{});
    EXPECT_EQ(std::get<Document>(decoded).encoding, "windows-1252");
}

}  // namespace
}  // namespace tdc::csv
