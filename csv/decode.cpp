#include <iconv.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "csv/csv.hpp"
#include "csv/text.hpp"

namespace tdc::csv {

namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
constexpr char kDelimiterCandidates[] = {',', ';', '\t', '|'};
constexpr std::size_t kNone = std::string_view::npos;

enum class Encoding { Automatic, Utf8, Windows1252 };

Rejection reject(std::string error, std::string detail, int status = 400) {
    return Rejection{status, std::move(error), std::move(detail), {}};
}

std::string hex_byte(char c) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    const auto byte = static_cast<unsigned char>(c);
    return std::string("0x") + kDigits[byte >> 4] + kDigits[byte & 0xF];
}

// Names text[offset] for messages: its value, its offset in the upload (0-based; `skipped`
// bytes were dropped from the front of `text`) and its physical line.
std::string locate(std::string_view text, std::size_t offset, std::size_t skipped = 0) {
    return "byte " + hex_byte(text[offset]) + " at offset " + std::to_string(offset + skipped) +
           " (line " + std::to_string(line_of_offset(text, offset)) + ")";
}

std::optional<Encoding> parse_encoding(const std::optional<std::string>& option) {
    if (!option) {
        return Encoding::Automatic;
    }
    std::string lower = *option;
    for (char& c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (lower == "utf-8" || lower == "utf8") {
        return Encoding::Utf8;
    }
    if (lower == "windows-1252" || lower == "cp1252") {
        return Encoding::Windows1252;
    }
    return std::nullopt;
}

bool usable_delimiter(char c) {
    return c != '"' && c != '\r' && c != '\n' && c != '\0' && static_cast<unsigned char>(c) < 0x80;
}

// Refuses bytes that cannot be text in either encoding; UTF-16 gets a message of its own.
std::optional<Rejection> check_text_bytes(std::string_view raw) {
    if (raw.substr(0, 2) == "\xFF\xFE" || raw.substr(0, 2) == "\xFE\xFF") {
        return reject("bad_encoding",
                      "The file is UTF-16 (it starts with a UTF-16 byte-order mark); only UTF-8 "
                      "or Windows-1252 text can be loaded.");
    }
    const void* zero = std::memchr(raw.data(), '\0', raw.size());
    if (zero == nullptr) {
        return std::nullopt;
    }
    const auto offset = static_cast<std::size_t>(static_cast<const char*>(zero) - raw.data());
    return reject("bad_encoding", "The file holds a zero " + locate(raw, offset) +
                                      ", so it is binary or UTF-16, not UTF-8 or "
                                      "Windows-1252 text.");
}

// Owns an iconv conversion descriptor.
class Converter {
public:
    Converter(const char* to, const char* from) : descriptor_(iconv_open(to, from)) {}
    ~Converter() {
        if (ok()) {
            iconv_close(descriptor_);
        }
    }
    Converter(const Converter&) = delete;
    Converter& operator=(const Converter&) = delete;

    bool ok() const { return descriptor_ != reinterpret_cast<iconv_t>(-1); }
    iconv_t get() const { return descriptor_; }

private:
    iconv_t descriptor_;
};

// Converts all of `in` into `out`, growing it as needed. Returns kNone, or the offset of the
// first byte the source encoding does not define.
std::size_t convert_all(const Converter& converter, std::string_view in, std::string& out) {
    out.resize(in.size() + in.size() / 4 + 64);
    char* in_next = const_cast<char*>(in.data());
    std::size_t in_left = in.size();
    char* out_next = out.data();
    std::size_t out_left = out.size();
    std::size_t result = kNone;
    while (in_left > 0) {
        if (iconv(converter.get(), &in_next, &in_left, &out_next, &out_left) !=
            static_cast<std::size_t>(-1)) {
            break;
        }
        if (errno != E2BIG) {
            result = static_cast<std::size_t>(in_next - in.data());
            break;
        }
        const auto used = static_cast<std::size_t>(out_next - out.data());
        out.resize(out.size() + out.size() / 2);
        out_next = out.data() + used;
        out_left = out.size() - used;
    }
    out.resize(static_cast<std::size_t>(out_next - out.data()));
    return result;
}

// Whichever candidate splits the header record into the most fields; comma on a tie or none.
char detect_delimiter(std::string_view text) {
    char best = ',';
    std::size_t best_fields = 1;
    for (const char candidate : kDelimiterCandidates) {
        RecordReader header(text, candidate, 0);
        if (header.next() && header.size() > best_fields) {
            best = candidate;
            best_fields = header.size();
        }
    }
    return best;
}

// Reads `text` (the upload after a dropped byte-order mark of `bom` bytes) as Windows-1252
// into document.text. `utf8_error` is where UTF-8 failed, for the message, or kNone.
std::optional<Rejection> from_windows1252(std::string_view text, std::size_t bom,
                                          std::size_t utf8_error, Document& document) {
    const Converter converter("UTF-8", "WINDOWS-1252");
    if (!converter.ok()) {
        return reject("encoding_unavailable",
                      std::string("Windows-1252 cannot be decoded on this server: iconv_open "
                                  "failed: ") +
                          std::strerror(errno) + ".",
                      500);
    }
    auto converted = std::make_shared<std::string>();
    const std::size_t undefined = convert_all(converter, text, *converted);
    if (undefined == kNone) {
        document.text = *converted;
        document.owned = std::move(converted);
        document.encoding = "windows-1252";
        return std::nullopt;
    }
    std::string detail = "The file is not Windows-1252 text: " + locate(text, undefined, bom) +
                         " has no character in that encoding";
    if (utf8_error != kNone) {
        detail += ", and it is not UTF-8 either: " + locate(text, utf8_error, bom) +
                  " does not form a character";
    }
    return reject("bad_encoding", detail + ".");
}

// Fills document.text and document.encoding from `text` (the upload after a dropped byte-order
// mark of `bom` bytes). `clean_utf8`: the text is known to be well-formed UTF-8.
std::optional<Rejection> convert(std::string_view text, std::size_t bom, Encoding encoding,
                                 bool clean_utf8, Document& document) {
    if (encoding == Encoding::Windows1252) {
        return from_windows1252(text, bom, kNone, document);
    }
    const std::size_t invalid = clean_utf8 ? kNone : invalid_utf8_offset(text);
    if (invalid == kNone) {
        document.text = text;
        document.encoding = "utf-8";
        return std::nullopt;
    }
    if (encoding == Encoding::Utf8) {
        return reject("bad_encoding", "The file is not valid UTF-8: " + locate(text, invalid, bom) +
                                          " does not form a character.");
    }
    return from_windows1252(text, bom, invalid, document);
}

// decode_in_place(); `clean_utf8`: `raw` is known to hold no zero byte and to be UTF-8.
std::variant<Document, Rejection> decode_text(std::string_view raw, const Options& options,
                                              bool clean_utf8) {
    if (raw.empty()) {
        return reject("empty_file", "The file is empty (0 bytes).");
    }
    if (options.delimiter && !usable_delimiter(*options.delimiter)) {
        return reject("bad_delimiter", "The delimiter " + hex_byte(*options.delimiter) +
                                           " cannot be used: it must be an ASCII character "
                                           "other than a quote, a line break or zero.");
    }
    const std::optional<Encoding> encoding = parse_encoding(options.encoding);
    if (!encoding) {
        return reject("unsupported_encoding", "The encoding \"" + *options.encoding +
                                                  "\" is not supported: use utf-8 or "
                                                  "windows-1252.");
    }
    if (std::optional<Rejection> rejection = clean_utf8 ? std::nullopt : check_text_bytes(raw)) {
        return *rejection;
    }

    const std::size_t bom = std::string_view(raw).substr(0, 3) == kUtf8Bom ? 3 : 0;
    raw.remove_prefix(bom);
    Document document;
    if (std::optional<Rejection> rejection = convert(raw, bom, *encoding, clean_utf8, document)) {
        return *rejection;
    }
    document.delimiter = options.delimiter ? *options.delimiter : detect_delimiter(document.text);
    return document;
}

}  // namespace

std::variant<Document, Rejection> decode(std::string raw, const Options& options) {
    auto owned = std::make_shared<const std::string>(std::move(raw));
    auto result = decode_in_place(*owned, options);
    if (auto* document = std::get_if<Document>(&result); document && !document->owned) {
        document->owned = std::move(owned);
    }
    return result;
}

std::variant<Document, Rejection> decode_in_place(std::string_view raw, const Options& options) {
    return decode_text(raw, options, false);
}

std::variant<Document, Rejection> decode_in_place(std::string_view raw, const Options& options,
                                                  const ByteCheck& checked) {
    return decode_text(raw, options, checked.size() == raw.size() && checked.clean_utf8());
}

void ByteCheck::add(std::string_view bytes) {
    size_ += bytes.size();
    if (!clean_ || bytes.empty()) {
        return;
    }
    if (std::memchr(bytes.data(), '\0', bytes.size()) != nullptr) {
        clean_ = false;
        return;
    }
    // A character cut at the end of the last piece is completed by the bytes that go on with
    // it here: at most four bytes in all.
    const auto continues = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
    if (!pending_.empty()) {
        std::size_t more = 0;
        while (more < bytes.size() && pending_.size() + more < 4 && continues(bytes[more])) {
            ++more;
        }
        pending_.append(bytes.substr(0, more));
        bytes.remove_prefix(more);
        if (bytes.empty()) {
            return;
        }
        if (invalid_utf8_offset(pending_) != kNone) {
            clean_ = false;
            return;
        }
        pending_.clear();
    }
    // The last character waits for the next piece. Cutting before a byte that begins a
    // character keeps the verdict of checking the text whole.
    const std::size_t split = utf8_prefix(bytes, bytes.size() - 1).size();
    if (bytes.size() - split > 4 || invalid_utf8_offset(bytes.substr(0, split)) != kNone) {
        clean_ = false;
        return;
    }
    pending_.assign(bytes.substr(split));
}

bool ByteCheck::clean_utf8() const {
    return clean_ && invalid_utf8_offset(pending_) == kNone;
}

}  // namespace tdc::csv
