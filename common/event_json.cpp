#include "common/event_json.hpp"

namespace tdc {

namespace {

nlohmann::json value_to_json(const wire::Value& value) {
    using Type = wire::Value::Type;
    switch (value.type) {
        case Type::Null:
            return nullptr;
        case Type::Integer:
            return value.integer;
        case Type::Float:
            return value.real;
        case Type::Boolean:
            return value.boolean;
        case Type::Text:
            return value.text;
    }
    return nullptr;
}

}  // namespace

nlohmann::json event_to_json(const wire::Event& event) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : event.rows) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& value : row) {
            out.push_back(value_to_json(value));
        }
        rows.push_back(std::move(out));
    }
    return {{"view", event.view},      {"table", event.table},         {"seq", event.seq},
            {"as_of", event.as_of},    {"row_count", event.row_count}, {"columns", event.columns},
            {"rows", std::move(rows)}, {"truncated", event.truncated}};
}

std::string dump_line(const nlohmann::json& json) {
    return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tdc
