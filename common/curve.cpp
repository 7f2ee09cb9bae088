#include "common/curve.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <zmq.h>

#include "common/config.hpp"

namespace tdc {

namespace {

constexpr std::size_t kZ85KeyLength = 40;

[[noreturn]] void refuse(const std::string& key, const std::filesystem::path& file,
                         const std::string& why) {
    throw ConfigError(key + ": " + file.string() + ": " + why);
}

bool is_z85_key(const std::string& text) {
    std::uint8_t binary[32];
    return text.size() == kZ85KeyLength && zmq_z85_decode(binary, text.c_str()) != nullptr;
}

// The one line of a key file, without its newline. The content never reaches a message.
std::string read_key_line(const std::string& key, const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) {
        refuse(key, file, std::strerror(errno));
    }
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();
    }
    if (!is_z85_key(line)) {
        refuse(key, file, "not a CURVE key (expected 40 Z85 characters on the first line)");
    }
    return line;
}

// Creates `file` with exactly `mode` and writes `text`; fails when it exists.
void write_new_file(const std::filesystem::path& file, const std::string& text, mode_t mode) {
    int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        throw std::runtime_error("keygen failed: " + file.string() + ": " + std::strerror(errno));
    }
    bool ok = fchmod(fd, mode) == 0 &&
              write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    int error = errno;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(file.c_str());
        throw std::runtime_error("keygen failed: " + file.string() + ": " + std::strerror(error));
    }
}

}  // namespace

CurveKeyPair write_key_pair(const std::filesystem::path& prefix) {
    std::filesystem::path public_file = prefix.string() + ".public";
    std::filesystem::path secret_file = prefix.string() + ".secret";
    for (const auto& file : {public_file, secret_file}) {
        if (std::filesystem::exists(file)) {
            throw std::runtime_error("keygen failed: " + file.string() +
                                     ": exists already (remove it first to replace the pair)");
        }
    }
    std::filesystem::path folder = public_file.parent_path();
    if (!folder.empty() && !std::filesystem::exists(folder)) {
        std::filesystem::create_directories(folder);
        std::filesystem::permissions(folder, std::filesystem::perms::owner_all);
    }

    char public_key[kZ85KeyLength + 1];
    char secret_key[kZ85KeyLength + 1];
    if (zmq_curve_keypair(public_key, secret_key) != 0) {
        throw std::runtime_error(std::string("keygen failed: ") + zmq_strerror(zmq_errno()));
    }
    write_new_file(secret_file, std::string(secret_key) + "\n", 0600);
    try {
        write_new_file(public_file, std::string(public_key) + "\n", 0644);
    } catch (...) {
        unlink(secret_file.c_str());
        throw;
    }
    return {public_key, secret_key};
}

std::string read_public_key(const std::string& key, const std::filesystem::path& file) {
    return read_key_line(key, file);
}

CurveKeyPair read_secret_key(const std::string& key, const std::filesystem::path& file) {
    struct stat info {};
    if (stat(file.c_str(), &info) != 0) {
        refuse(key, file, std::strerror(errno));
    }
    if ((info.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 0777));
        refuse(key, file,
               std::string("a secret key must be readable by its owner only (mode ") + mode +
                   "): chmod 600 " + file.string());
    }
    CurveKeyPair pair;
    pair.secret_key = read_key_line(key, file);
    char public_key[kZ85KeyLength + 1];
    if (zmq_curve_public(public_key, pair.secret_key.c_str()) != 0) {
        refuse(key, file, "cannot derive the public key");
    }
    pair.public_key = public_key;
    return pair;
}

std::set<std::string> read_public_keys(const std::string& key,
                                       const std::filesystem::path& folder) {
    std::set<std::string> keys;
    std::error_code error;
    std::filesystem::directory_iterator entries(folder, error);
    if (error) {
        refuse(key, folder, error.message());
    }
    try {
        for (const auto& entry : entries) {
            if (entry.path().extension() == ".public") {
                keys.insert(read_key_line(key, entry.path()));
            }
        }
    } catch (const std::filesystem::filesystem_error& e) {
        refuse(key, folder, e.code().message());
    }
    return keys;
}

std::string fingerprint(const std::string& public_key) {
    return public_key.substr(0, 12);
}

}  // namespace tdc
