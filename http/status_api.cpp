#include "http/api.hpp"

namespace tdc::http {

void add_status_routes(Pistache::Rest::Router&, ApiContext&) {}

}  // namespace tdc::http
