// The view stage: serves the `view` bus service. It makes each loaded table's reference view
// and, on every Refresh from the ticker, rereads the catalog (so views made through the HTTP
// API join at the next tick) and hands the tick to each view's ViewRefresher, which refreshes
// it concurrently with the others and tells the checker the timestamp the refresh used.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <pqxx/pqxx>
#include <zmq.hpp>

#include "common/bus.hpp"
#include "common/config.hpp"
#include "common/db.hpp"
#include "common/stop.hpp"
#include "common/wire.hpp"
#include "stages/view/refresher.hpp"

namespace tdc {

// The reference view of a table: every row whose first integer-typed column equals the last
// digit of the refreshing transaction's second. `reason` says why there is none.
struct ReferenceView {
    std::string name;
    std::string sql;     // the SELECT, identifiers quoted
    std::string reason;  // non-empty when the table gets no reference view
};

// Names and defines the reference view of `table`. The name is `<table>_current_second`,
// with the table part cut so the whole stays within PostgreSQL's 63 bytes.
ReferenceView reference_view(const std::string& table, const std::vector<wire::ColumnDef>& columns);

class ViewStage {
public:
    ViewStage(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log);

    // Serves until `stop` is requested. Returns the process exit code.
    int run(StopSignal& stop);

private:
    bool handle(BusMessage& message);
    void on_table_loaded(const wire::Route& route, const wire::TableLoaded& request);
    void on_refresh(const wire::Refresh& request);
    wire::ViewInfo create_reference_view(const wire::TableLoaded& request);
    // Makes sure kViewReaderRole can own a new view; false (logged) when this database role
    // may not set it up, and the view is then owned by the stage's own role.
    bool prepare_view_reader();
    // Starts a refresher for each catalog view without one and stops those of views gone.
    void sync_refreshers();
    // Stops `refresher`, cancelling its refresh in flight, and joins it.
    void stop_refresher(std::unique_ptr<ViewRefresher> refresher);
    bool ensure_connected();

    const Config& config_;
    std::shared_ptr<spdlog::logger> log_;
    StopSignal* stop_ = nullptr;
    BusWorker bus_;
    zmq::context_t& context_;
    StageConnection db_;
    std::map<std::string, std::unique_ptr<ViewRefresher>> refreshers_;
    std::int64_t last_tick_ = 0;
};

}  // namespace tdc
