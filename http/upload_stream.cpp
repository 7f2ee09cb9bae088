#include "http/upload_stream.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace tdc::http {

namespace {

const std::vector<std::string> kParamNames = {"table",     "mode",          "encoding",
                                              "delimiter", "decimal_comma", "types"};

bool is_param(const std::string& name) {
    return std::find(kParamNames.begin(), kParamNames.end(), name) != kParamNames.end();
}

// A `delimiter` of more than one byte: answered 400 bad_delimiter, as the CSV reader answers
// one byte it cannot use.
struct BadDelimiter : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

// The 400 for a setting read_param() refused.
Reply bad_setting(const std::invalid_argument& e) {
    return error_reply(
        400, dynamic_cast<const BadDelimiter*>(&e) ? "bad_delimiter" : "bad_parameter", e.what());
}

// Reads one of the upload's settings. Throws std::invalid_argument for a delimiter of more than
// one character, or a `types` value that is not a JSON object of known type names.
void read_param(UploadParams& params, const std::string& key, const std::string& value) {
    if (key == "table") {
        params.table = value;
    } else if (key == "mode") {
        params.mode = value;
    } else if (key == "encoding") {
        params.options.encoding = value;
    } else if (key == "delimiter" && !value.empty()) {
        if (value == "\\t" || value == "tab") {
            params.options.delimiter = '\t';
        } else if (value.size() == 1) {
            params.options.delimiter = value[0];
        } else {
            throw BadDelimiter("the delimiter must be one character, or \\t for a tab; got \"" +
                               value.substr(0, 20) + "\"");
        }
    } else if (key == "decimal_comma") {
        params.options.decimal_comma = value == "1" || value == "true";
    } else if (key == "types") {
        auto types = nlohmann::json::parse(value, nullptr, false);
        if (!types.is_object()) {
            throw std::invalid_argument("types must be a JSON object of column name to type");
        }
        for (const auto& [column, type] : types.items()) {
            auto parsed =
                type.is_string() ? csv::type_from_sql_name(type.get<std::string>()) : std::nullopt;
            if (!parsed) {
                throw std::invalid_argument("types: column '" + column + "' has an unknown type " +
                                            type.dump());
            }
            params.options.types[column] = *parsed;
        }
    }
}

std::string content_type(const Pistache::Http::Request& request) {
    auto header = request.headers().tryGet<Pistache::Http::Header::ContentType>();
    return header ? header->mime().raw() : std::string();
}

bool starts_with(const std::string& text, std::string_view prefix) {
    return text.rfind(prefix, 0) == 0;
}

}  // namespace

UploadStream::UploadStream(const Uploader& uploader, const Pistache::Http::Request& request)
    : uploader_(uploader) {
    try {
        for (const auto& key : kParamNames) {
            if (auto value = query_param(request, key)) {
                read_param(params_, key, *value);
            }
        }
    } catch (const std::invalid_argument& e) {
        refusal_ = bad_setting(e);
        return;
    }
    begin_body(content_type(request));
}

void UploadStream::begin_body(const std::string& type) {
    if (starts_with(type, "multipart/form-data")) {
        auto boundary = multipart_boundary(type);
        if (!boundary) {
            refusal_ = error_reply(400, "bad_multipart", "multipart/form-data without a boundary");
            return;
        }
        MultipartReader::Events events;
        events.part = [this](const PartHead& head) { begin_part(head); };
        events.content = [this](std::string_view bytes) { part_content(bytes); };
        multipart_.emplace(*boundary, std::move(events));
    } else if (starts_with(type, "text/csv") || starts_with(type, "application/csv") ||
               starts_with(type, "text/plain")) {
        if (params_.table.empty()) {
            refusal_ = error_reply(400, "no_table", "a raw CSV upload needs ?table=NAME");
            return;
        }
        start_file();
    } else {
        refusal_ = error_reply(
            415, "unsupported_media_type",
            "send multipart/form-data with a 'file' field or a text/csv body, not '" + type + "'");
    }
}

// A form's field named `file` is the file (with a file name or, as `curl -F file=<path` sends
// it, without); a second one is refused. Its other fields may set the upload's settings, which
// finish() reads in the form's order after those of the query.
void UploadStream::begin_part(const PartHead& head) {
    if (head.name == "file") {
        if (spool_) {
            refusal_ = error_reply(400, "bad_multipart",
                                   "the form has more than one field named 'file': send one "
                                   "file per upload");
            part_ = Part::Other;
            return;
        }
        params_.file_name = head.filename.value_or("");
        start_file();
    } else if (is_param(head.name)) {
        fields_.emplace_back(head.name, "");
        part_ = Part::Field;
    } else {
        part_ = Part::Other;
    }
}

void UploadStream::start_file() {
    part_ = Part::File;
    check_ = csv::ByteCheck();
    try {
        if (spool_) {
            spool_->clear();
        } else {
            spool_ = std::make_unique<Spool>(std::filesystem::temp_directory_path());
        }
    } catch (const std::exception& e) {
        refusal_ = error_reply(507, "spool_failed", e.what());
    }
}

void UploadStream::part_content(std::string_view bytes) {
    if (part_ == Part::File) {
        file_bytes(bytes);
    } else if (part_ == Part::Field) {
        auto& [name, value] = fields_.back();
        if (value.size() + bytes.size() > kMaxFieldBytes) {
            refusal_ = error_reply(
                400, "bad_multipart",
                "form field '" + name + "' is over " + std::to_string(kMaxFieldBytes) + " bytes");
            return;
        }
        value.append(bytes);
    }
}

void UploadStream::file_bytes(std::string_view bytes) {
    if (refusal_) {
        return;
    }
    check_.add(bytes);
    try {
        spool_->append(bytes);
    } catch (const std::system_error& e) {
        refusal_ = error_reply(507, "spool_failed", e.what());
    }
}

void UploadStream::feed(std::string_view bytes) {
    if (refusal_) {
        return;
    }
    if (!multipart_) {
        file_bytes(bytes);
        return;
    }
    try {
        multipart_->feed(bytes);
    } catch (const MultipartError& e) {
        refusal_ = error_reply(400, "bad_multipart", e.what());
    }
}

Reply UploadStream::finish() {
    if (!refusal_ && multipart_) {
        try {
            multipart_->finish();
        } catch (const MultipartError& e) {
            refusal_ = error_reply(400, "bad_multipart", e.what());
        }
    }
    if (refusal_) {
        return *refusal_;
    }
    try {
        for (const auto& [key, value] : fields_) {
            read_param(params_, key, value);
        }
    } catch (const std::invalid_argument& e) {
        return bad_setting(e);
    }
    if (!spool_) {
        return error_reply(400, "no_file", "the form has no file field named 'file'");
    }
    return uploader_.upload(*spool_, check_, params_);
}

}  // namespace tdc::http
