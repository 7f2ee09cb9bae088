#include "http/spool.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace tdc::http {

namespace {

// Release in steps this large, so that a caller may ask after every row.
constexpr std::size_t kReleaseStep = 4u << 20;

[[noreturn]] void fail(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

// An unnamed file in `directory`: O_TMPFILE where the file system has it, else a named one
// removed at once.
int open_unnamed(const std::filesystem::path& directory) {
    int fd = ::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) {
        return fd;
    }
    std::string name = (directory / "tdc-upload-XXXXXX").string();
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd >= 0) {
        ::unlink(name.c_str());
    }
    return fd;
}

}  // namespace

Spool::Spool(const std::filesystem::path& directory) : directory_(directory) {
    fd_ = open_unnamed(directory);
    if (fd_ < 0) {
        fail("cannot create a temporary file in " + directory.string());
    }
    block_.reserve(kBlockBytes);
}

Spool::~Spool() {
    if (map_ != nullptr) {
        ::munmap(map_, size_);
    }
    ::close(fd_);
}

void Spool::append(std::string_view bytes) {
    while (!bytes.empty()) {
        const std::size_t room = kBlockBytes - block_.size();
        block_.append(bytes.substr(0, room));
        bytes.remove_prefix(std::min(room, bytes.size()));
        if (block_.size() == kBlockBytes) {
            write_block();
        }
    }
}

void Spool::write_block() {
    std::string_view rest = block_;
    while (!rest.empty()) {
        const ssize_t written = ::write(fd_, rest.data(), rest.size());
        if (written < 0 && errno == EINTR) {
            continue;
        }
        if (written < 0) {
            fail("cannot write the upload to a temporary file in " + directory_.string());
        }
        rest.remove_prefix(static_cast<std::size_t>(written));
    }
    size_ += block_.size();
    block_.clear();
}

void Spool::clear() {
    block_.clear();
    size_ = 0;
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) {
        fail("cannot empty the temporary file in " + directory_.string());
    }
}

std::string_view Spool::map() {
    if (map_ == nullptr && !block_.empty()) {
        write_block();
    }
    if (map_ == nullptr && size_ > 0) {
        void* map = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
        if (map == MAP_FAILED) {
            fail("cannot map the temporary file of the upload");
        }
        ::madvise(map, size_, MADV_SEQUENTIAL);
        map_ = map;
    }
    return map_ == nullptr ? std::string_view() : std::string_view(static_cast<char*>(map_), size_);
}

void Spool::release_before(std::size_t offset) {
    if (map_ == nullptr) {
        return;
    }
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t end = std::min(offset, size_) / page * page;
    if (end < released_ + kReleaseStep && end != size_ / page * page) {
        return;
    }
    if (end > released_) {
        ::madvise(static_cast<char*>(map_) + released_, end - released_, MADV_DONTNEED);
        released_ = end;
    }
}

}  // namespace tdc::http
