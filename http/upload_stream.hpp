// One POST /upload-file request's body, read as it arrives or all at once: its form fields and
// query parameters become the upload's settings, its file is checked and kept in a Spool, and
// finish() has the Uploader load it. Whether the body comes in one piece or many, the answer
// is the same.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <pistache/http.h>

#include "csv/csv.hpp"
#include "http/api.hpp"
#include "http/multipart.hpp"
#include "http/spool.hpp"
#include "http/upload.hpp"
#include "http/upload_gate.hpp"

namespace tdc::http {

class UploadStream {
public:
    // Reads the settings in the query string and the content type of `request`, whose body is
    // still to come. REQUIRES: `uploader` outlives the stream.
    UploadStream(const Uploader& uploader, const Pistache::Http::Request& request);

    // Reads the next piece of the body.
    void feed(std::string_view bytes);

    // Ends the body and answers the upload: 201 with what was loaded, or why not (see
    // Uploader::upload, plus 400 bad_parameter, bad_multipart, no_file, no_table; 415
    // unsupported_media_type; 507 spool_failed).
    Reply finish();

    // Keeps `ticket` until the stream is destroyed, after its answer: the upload counts as in
    // progress for the HTTP front's stop until then.
    void hold(UploadGate::Ticket ticket) { ticket_.emplace(std::move(ticket)); }

    // Answers `reply` whatever the body holds (which is still read, and ignored).
    void refuse(Reply reply) { refusal_ = std::move(reply); }

    // Form fields kept for the settings are at most this long.
    static constexpr std::size_t kMaxFieldBytes = 1 << 20;

private:
    enum class Part { None, File, Field, Other };

    void begin_body(const std::string& content_type);
    void begin_part(const PartHead& head);
    void part_content(std::string_view bytes);
    void file_bytes(std::string_view bytes);
    void start_file();

    const Uploader& uploader_;
    UploadParams params_;
    std::optional<Reply> refusal_;  // decided before the file is read; the rest is ignored
    std::optional<MultipartReader> multipart_;
    Part part_ = Part::None;
    std::vector<std::pair<std::string, std::string>> fields_;  // settings from the form
    std::unique_ptr<Spool> spool_;
    csv::ByteCheck check_;
    std::optional<UploadGate::Ticket> ticket_;
};

}  // namespace tdc::http
