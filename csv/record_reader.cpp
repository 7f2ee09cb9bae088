#include "csv/record_reader.hpp"

namespace tdc::csv {

namespace {

bool is_line_break(char c) {
    return c == '\n' || c == '\r';
}

}  // namespace

RecordReader::RecordReader(std::string_view text, char delimiter, std::size_t max_fields)
    : text_(text), delimiter_(delimiter), max_fields_(max_fields) {
    stops_[static_cast<unsigned char>(delimiter)] = true;
    stops_['\r'] = true;
    stops_['\n'] = true;
}

std::string_view RecordReader::field(std::size_t index) const {
    const Span& span = spans_[index];
    const char* base = span.in_scratch ? scratch_.data() : text_.data();
    return std::string_view(base + span.offset, span.size);
}

bool RecordReader::next() {
    spans_.clear();
    scratch_.clear();
    count_ = 0;
    if (pos_ >= text_.size() || only_line_breaks_remain()) {
        pos_ = text_.size();
        return false;
    }

    record_line_ = line_;
    while (read_field()) {
    }
    return true;
}

// Looks ahead from a record start over line breaks; remembers where content was found so that a
// long run of blank lines is scanned once, not once per blank line.
bool RecordReader::only_line_breaks_remain() {
    if (pos_ < content_seen_until_) {
        return false;
    }
    std::size_t i = pos_;
    while (i < text_.size() && is_line_break(text_[i])) {
        ++i;
    }
    content_seen_until_ = i;
    return i == text_.size();
}

// Reads one field and what ends it; returns true when a delimiter follows (another field).
bool RecordReader::read_field() {
    const std::size_t scratch_mark = scratch_.size();
    const bool keep = count_ < max_fields_;
    ++count_;

    const bool quoted = pos_ < text_.size() && text_[pos_] == '"';
    const Span span = quoted ? read_quoted() : read_unquoted();
    if (keep) {
        spans_.push_back(span);
    } else {
        scratch_.resize(scratch_mark);
    }
    return end_field();
}

RecordReader::Span RecordReader::read_unquoted() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && !stops_[static_cast<unsigned char>(text_[pos_])]) {
        ++pos_;
    }
    return Span{start, pos_ - start, false, false};
}

// REQUIRES: text_[pos_] is the opening quote. Leaves pos_ at the delimiter, line break or end
// that follows the field.
RecordReader::Span RecordReader::read_quoted() {
    const std::size_t start_line = line_;
    ++pos_;
    std::size_t segment = pos_;
    const std::size_t scratch_start = scratch_.size();
    bool in_scratch = false;
    std::size_t end = 0;

    for (;;) {
        const std::size_t quote = find_quote(pos_);
        if (quote == text_.size()) {
            if (unterminated_line_ == 0) {
                unterminated_line_ = start_line;
            }
            end = quote;
            pos_ = quote;
            break;
        }
        if (quote + 1 < text_.size() && text_[quote + 1] == '"') {
            scratch_.append(text_.data() + segment, quote + 1 - segment);
            in_scratch = true;
            pos_ = quote + 2;
            segment = pos_;
            continue;
        }
        end = quote;
        pos_ = quote + 1;
        break;
    }

    const bool has_tail = pos_ < text_.size() && !stops_[static_cast<unsigned char>(text_[pos_])];
    if (!in_scratch && !has_tail) {
        return Span{segment, end - segment, false, true};
    }
    scratch_.append(text_.data() + segment, end - segment);
    if (has_tail) {
        append_tail();
    }
    return Span{scratch_start, scratch_.size() - scratch_start, true, true};
}

// Returns the position of the next '"' at or after `from` (or the text size), counting the
// line breaks passed over: LF, CRLF and a lone CR each end one physical line.
std::size_t RecordReader::find_quote(std::size_t from) {
    const std::size_t size = text_.size();
    for (std::size_t i = from; i < size; ++i) {
        const char c = text_[i];
        if (c == '"') {
            return i;
        }
        if (c == '\n' || (c == '\r' && (i + 1 == size || text_[i + 1] != '\n'))) {
            ++line_;
        }
    }
    return size;
}

// Appends the literal text after a closing quote, up to the next delimiter or line break.
void RecordReader::append_tail() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && !stops_[static_cast<unsigned char>(text_[pos_])]) {
        ++pos_;
    }
    scratch_.append(text_.data() + start, pos_ - start);
}

// Consumes what follows a field; returns true for a delimiter, false at a line break or the end.
bool RecordReader::end_field() {
    if (pos_ >= text_.size()) {
        return false;
    }
    const char c = text_[pos_++];
    if (c == delimiter_) {
        return true;
    }
    if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') {
        ++pos_;
    }
    ++line_;
    return false;
}

}  // namespace tdc::csv
