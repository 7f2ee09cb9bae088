// The broker's status report (broker/broker_status.hpp) written in the Prometheus text
// exposition format, version 0.0.4, for `GET /metrics`. docs/OPERATIONS.md lists the metrics.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace tdc::http {

// Every metric family with its HELP and TYPE lines, then its samples. A part missing from
// `report` gives zeros (counters) or no samples (per-stage and per-view families).
std::string metrics_text(const nlohmann::json& report);

// A label value escaped as the format wants it: backslash, double quote and newline.
std::string escape_label(const std::string& value);

}  // namespace tdc::http
