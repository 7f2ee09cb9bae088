// The loader stage: serves the `loader` bus service. For each upload session it prepares the
// table (create, replace or append), streams the batches into it with COPY and records the
// upload in the catalog table tinydevcrm.tables, all in one transaction; on commit it asks the
// view stage for the table's views and answers the uploader.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>
#include <pqxx/pqxx>
#include <zmq.hpp>

#include "common/bus.hpp"
#include "common/config.hpp"
#include "common/db.hpp"
#include "common/stop.hpp"
#include "common/wire.hpp"

namespace tdc {

class Loader {
public:
    Loader(const Config& config, zmq::context_t& context, std::shared_ptr<spdlog::logger> log);
    ~Loader();

    // Serves until `stop` is requested. Returns the process exit code.
    int run(StopSignal& stop);

    // How long to wait for the view stage to make a new table's views.
    static constexpr std::chrono::seconds kViewTimeout{10};

private:
    struct Session;

    bool handle(BusMessage& message);
    void begin(const wire::Route& route, const wire::LoadBegin& request);
    void open_session(const wire::Route& route, const wire::LoadBegin& request);
    void abandon_silent_session();
    void batch(const wire::Route& route, wire::LoadBatch request);
    void end(const wire::Route& route, const wire::LoadEnd& request);
    void abort(const wire::Route& route, const wire::LoadAbort& request);
    void prepare_table(pqxx::work& tx, const wire::LoadBegin& request);
    void create_table(pqxx::work& tx, const wire::LoadBegin& request);
    void replace_table(pqxx::work& tx, const wire::LoadBegin& request);
    void recreate_views(pqxx::work& tx);
    void record_table(pqxx::work& tx, const wire::LoadBegin& request, bool new_table);
    std::vector<wire::ViewInfo> request_views(const wire::LoadBegin& request);
    void finish(const wire::Route& route, wire::LoadResult result);
    void fail(const wire::Route& route, int status, const std::string& error,
              const std::string& detail);

    const Config& config_;
    zmq::context_t& context_;
    std::shared_ptr<spdlog::logger> log_;
    StopSignal* stop_ = nullptr;
    BusWorker bus_;
    BusClient views_;
    StageConnection db_;
    std::unique_ptr<Session> session_;
};

}  // namespace tdc
