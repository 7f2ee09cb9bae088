// tinydevcrm: one executable, one subcommand per stage, plus the launcher and tools.
//   tinydevcrm run      --config FILE   every stage as its own process or thread, supervised
//   tinydevcrm <stage>  --config FILE   one stage in the foreground
//   tinydevcrm sub      --config FILE [--view PREFIX]   print events as JSON lines
//   tinydevcrm pg start|stop --dir DIR  the embedded PostgreSQL cluster, for scripts
//   tinydevcrm keygen --out PREFIX      a CurveZMQ key pair: PREFIX.public, PREFIX.secret
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/stages.hpp"
#include "broker/gatekeeper.hpp"
#include "common/config.hpp"
#include "common/curve.hpp"
#include "common/log.hpp"
#include "common/sockets.hpp"
#include "common/stop.hpp"
#include "launcher/launcher.hpp"

namespace {

// Lifts the soft open-file limit to the hard one: the broker holds a descriptor per
// subscriber, and the common default of 1024 would cap subscribers silently.
void raise_open_file_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

std::filesystem::path self_exe() {
    return std::filesystem::read_symlink("/proc/self/exe");
}

// Every process but the broker connects to the broker with this host's keys. The launcher
// also checks the broker's keys before starting anything, so a bad key fails `run` at once.
void apply_security(const std::string& command, const tdc::Config& config) {
    if (command == "broker") {
        tdc::SocketPolicy policy;
        policy.event_queue = config.events.queue_length;
        tdc::set_socket_policy(policy);
        return;
    }
    tdc::set_socket_policy(tdc::client_policy(config));
    if (command == "run" && config.processes.at("broker") > 0) {
        (void)tdc::load_broker_security(config);
    }
}

int keygen(const std::string& prefix) {
    tdc::CurveKeyPair pair = tdc::write_key_pair(prefix);
    std::cout << "wrote " << prefix << ".public and " << prefix
              << ".secret (mode 0600) fingerprint=" << tdc::fingerprint(pair.public_key) << "\n";
    return 0;
}

int run_command(const std::string& command, const std::string& config_file,
                const tdc::SubOptions& sub, tdc::StopSignal& stop) {
    tdc::Config config = tdc::load_config(config_file);
    apply_security(command, config);
    if (command == "run") {
        auto log = tdc::make_logger("launcher", config.log_level);
        return tdc::launch(config, self_exe(), tdc::run_stage_thread, stop, log);
    }
    if (command == "sub") {
        return tdc::run_sub(config, sub, stop);
    }
    return tdc::run_stage(command, config, stop);
}

}  // namespace

int main(int argc, char** argv) {
    tdc::StopSignal stop;  // before any thread exists, so every thread inherits the mask
    raise_open_file_limit();
    CLI::App app{"tinydevcrm: CSV uploads to PostgreSQL tables, views and live events"};
    app.require_subcommand(1);
    std::string config_file = "config/tinydevcrm.toml";
    tdc::SubOptions sub;
    std::vector<std::string> commands = {"run", "sub"};
    commands.insert(commands.end(), tdc::kStageNames.begin(), tdc::kStageNames.end());
    for (const auto& name : commands) {
        auto* command = app.add_subcommand(name, name == "run"   ? "launch every stage"
                                                 : name == "sub" ? "print events as JSON lines"
                                                                 : "run the " + name + " stage");
        command->add_option("-c,--config", config_file, "configuration file")
            ->capture_default_str();
        if (name == "sub") {
            command->add_option("--view", sub.view_prefix, "only views whose name starts so");
            command->add_option("--count", sub.count, "exit after this many events (0: never)");
            command->add_option("--since", sub.since,
                                "replay the events of --view (its full name) after this seq, "
                                "then go on live");
        }
    }
    std::string pg_action;
    std::string pg_dir;
    auto* pg = app.add_subcommand("pg", "start or stop an embedded PostgreSQL cluster");
    pg->add_option("action", pg_action, "start or stop")
        ->required()
        ->check(CLI::IsMember({"start", "stop"}));
    pg->add_option("--dir", pg_dir, "cluster folder")->required();
    std::string key_prefix;
    auto* keygen_command = app.add_subcommand(
        "keygen", "write a CurveZMQ key pair: PREFIX.public and PREFIX.secret (mode 0600)");
    keygen_command
        ->add_option("--out", key_prefix, "path and name of the two files, e.g. keys/loader")
        ->required();
    CLI11_PARSE(app, argc, argv);

    try {
        if (pg->parsed()) {
            return tdc::pg_command(pg_action, pg_dir, tdc::make_logger("pg", "info"));
        }
        if (keygen_command->parsed()) {
            return keygen(key_prefix);
        }
        return run_command(app.get_subcommands().front()->get_name(), config_file, sub, stop);
    } catch (const tdc::ConfigError& e) {
        std::cerr << "tinydevcrm: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "tinydevcrm: " << e.what() << "\n";
        return 1;
    }
}
