// Where an upload's file waits while it is loaded: an unnamed temporary file, not the process's
// memory. Its pages are in the kernel's page cache, which may write them out and drop them
// under memory pressure; the process maps the file to read it and lets go of what it has read.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace tdc::http {

class Spool {
public:
    // Creates the file in `directory`. It has no name (O_TMPFILE, or a name removed at once),
    // so it is gone when the Spool is destroyed or the process dies. Throws std::system_error
    // naming the directory.
    explicit Spool(const std::filesystem::path& directory);
    ~Spool();
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    // Appends `bytes`; they reach the file in blocks of kBlockBytes. Throws std::system_error
    // when the file cannot grow (a full disk). REQUIRES: map() was not called yet.
    void append(std::string_view bytes);

    // Drops everything appended. REQUIRES: map() was not called yet.
    void clear();

    // Bytes appended.
    std::size_t size() const { return size_ + block_.size(); }

    // The whole file, mapped read-only; valid while the Spool lives. Throws std::system_error.
    std::string_view map();

    // Lets the pages of the mapped file before `offset` leave this process's resident memory;
    // they are read back from the file if touched again. Cheap to call often.
    void release_before(std::size_t offset);

    static constexpr std::size_t kBlockBytes = 1 << 20;

private:
    void write_block();

    std::filesystem::path directory_;
    int fd_ = -1;
    std::string block_;     // appended bytes not yet written
    std::size_t size_ = 0;  // bytes in the file
    void* map_ = nullptr;
    std::size_t released_ = 0;  // bytes of the mapping already released
};

}  // namespace tdc::http
