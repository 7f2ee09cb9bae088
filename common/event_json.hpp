// Events as JSON: what the `sub` tool prints, the logger logs and browsers receive.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/wire.hpp"

namespace tdc {

// {view, table, seq, as_of, row_count, columns, rows, truncated}, every field of the event
// but kind and v; values keep their msgpack types.
nlohmann::json event_to_json(const wire::Event& event);

// `json` as one line; invalid UTF-8 in text values is replaced, never thrown on.
std::string dump_line(const nlohmann::json& json);

}  // namespace tdc
