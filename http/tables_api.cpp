#include "http/api.hpp"

namespace tdc::http {

void add_table_routes(Pistache::Rest::Router&, ApiContext&) {}

}  // namespace tdc::http
