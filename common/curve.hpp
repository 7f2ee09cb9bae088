// CurveZMQ key files. `tinydevcrm keygen` writes a pair, every process reads its own. A key
// file holds one Z85 key (40 characters) and a newline; a secret key file must be readable
// by its owner only. Secret keys never appear in logs or error messages.
#pragma once

#include <filesystem>
#include <set>
#include <string>

namespace tdc {

struct CurveKeyPair {
    std::string public_key;  // Z85
    std::string secret_key;  // Z85
};

// Makes a new pair and writes `<prefix>.public` (mode 0644) and `<prefix>.secret` (mode
// 0600, whatever the umask), creating the folder (mode 0700) when it is missing. Returns the
// pair. Throws std::runtime_error naming the file when one exists already or cannot be
// written; nothing is left behind then.
CurveKeyPair write_key_pair(const std::filesystem::path& prefix);

// Reads the public key in `file`. `key` is the config key that named the file, for the
// message. Throws ConfigError when the file is missing or does not hold a Z85 key.
std::string read_public_key(const std::string& key, const std::filesystem::path& file);

// Reads the secret key in `file` and derives its public key. Throws ConfigError when the file
// is missing, does not hold a Z85 key, or can be read by anyone but its owner.
CurveKeyPair read_secret_key(const std::string& key, const std::filesystem::path& file);

// The public keys of the `*.public` files in `folder` (other files are ignored). Throws
// ConfigError when the folder cannot be read or one of those files is not a key.
std::set<std::string> read_public_keys(const std::string& key, const std::filesystem::path& folder);

// How logs name a public key: its first 12 Z85 characters, which `keygen` prints too and
// `grep -r` finds in the key folders.
std::string fingerprint(const std::string& public_key);

}  // namespace tdc
