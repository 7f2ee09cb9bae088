// Helpers for the launcher's tests: captured log lines, temporary folders, fake executables
// and waiting for a condition with a deadline.
#pragma once

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace tdc::test {

// Keeps every formatted log line so a test can read them while other threads log.
class LogCapture : public spdlog::sinks::base_sink<std::mutex> {
public:
    std::vector<std::string> lines() {
        std::lock_guard<std::mutex> lock(mutex_);
        return lines_;
    }

    // How many lines contain every one of `needles`.
    int count(const std::vector<std::string>& needles) {
        auto all = lines();
        return static_cast<int>(std::count_if(all.begin(), all.end(), [&](const auto& line) {
            return std::all_of(needles.begin(), needles.end(), [&](const auto& needle) {
                return line.find(needle) != std::string::npos;
            });
        }));
    }

    // The index of the first line containing `needle`, or -1.
    int index_of(const std::string& needle) {
        auto all = lines();
        for (std::size_t i = 0; i < all.size(); ++i) {
            if (all[i].find(needle) != std::string::npos) {
                return static_cast<int>(i);
            }
        }
        return -1;
    }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t buffer;
        formatter_->format(msg, buffer);
        lines_.push_back(fmt::to_string(buffer));
    }
    void flush_() override {}

private:
    std::vector<std::string> lines_;
};

// A debug-level logger writing to `capture` and to stderr (for reading a failed run).
inline std::shared_ptr<spdlog::logger> capturing_logger(
    const std::shared_ptr<LogCapture>& capture) {
    auto stderr_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto log = std::make_shared<spdlog::logger>("launcher-test",
                                                spdlog::sinks_init_list{capture, stderr_sink});
    log->set_level(spdlog::level::debug);
    return log;
}

// A fresh folder under /tmp with `mode`, removed by the caller.
inline std::filesystem::path make_temp_dir(mode_t mode = 0755) {
    std::string pattern = "/tmp/tdc-launcher-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    chmod(pattern.c_str(), mode);
    return pattern;
}

// Writes an executable /bin/sh script `body` to `path`.
inline void write_script(const std::filesystem::path& path, const std::string& body) {
    std::ofstream(path) << "#!/bin/sh\n" << body;
    chmod(path.c_str(), 0755);
}

// Lines in `file`, 0 when it does not exist.
inline int line_count(const std::filesystem::path& file) {
    std::ifstream in(file);
    int count = 0;
    for (std::string line; std::getline(in, line);) {
        ++count;
    }
    return count;
}

// Polls `condition` until it holds or `timeout` passes; returns its last value.
inline bool wait_until(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

// Runs `body` (a launcher or supervisor run) on another thread. The caller must have built a
// StopSignal first, so that a SIGTERM to this process reaches `body` and nothing else.
class BackgroundRun {
public:
    explicit BackgroundRun(std::function<int()> body)
        : result_(std::async(std::launch::async, std::move(body))) {}

    // Stops a run that is still going when the test ends early.
    ~BackgroundRun() {
        if (result_.valid()) {
            kill(getpid(), SIGTERM);
            result_.wait();
        }
    }

    // What `body` returned, or -1 if it did not return within `timeout` (then it is stopped).
    int result(std::chrono::seconds timeout = std::chrono::seconds(60)) {
        if (result_.wait_for(timeout) == std::future_status::ready) {
            return result_.get();
        }
        kill(getpid(), SIGTERM);
        result_.get();
        return -1;
    }

private:
    std::future<int> result_;
};

}  // namespace tdc::test
