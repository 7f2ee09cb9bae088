#include "http/api.hpp"

namespace tdc::http {

void add_view_routes(Pistache::Rest::Router&, ApiContext&) {}

}  // namespace tdc::http
