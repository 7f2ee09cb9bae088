// Streaming CSV record reader: RFC 4180 plus the tolerances real uploads need.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tdc::csv {

// Reads the records of CSV text one at a time, without copying the text.
//
// Dialect: fields are split by `delimiter`; a field that starts with '"' is quoted and may hold
// delimiters, line breaks and doubled quotes ("" stands for one "). Records end at LF, CRLF or a
// lone CR, in any mix; the last record needs no line break, and line breaks at the very end of
// the text make no further record. A blank line elsewhere is a record of one empty field.
//
// Tolerance on malformed input: a quote inside an unquoted field is kept literally; text after
// a closing quote, up to the next delimiter or line break, is appended to the field literally;
// a quoted field still open at the end of the text runs to the end, and
// unterminated_quote_line() reports where it began.
//
// Fields are views into the text, or into a scratch buffer when unescaping was needed; they stay
// valid until the next call to next().
class RecordReader {
public:
    // REQUIRES: `text` outlives the reader; `delimiter` is none of '"', '\r', '\n'.
    // Fields past the first `max_fields` of a record are parsed and counted, but not kept.
    RecordReader(std::string_view text, char delimiter, std::size_t max_fields = 1601);

    // Reads the next record and returns true, or returns false at the end of the text.
    bool next();

    // Fields in the current record, including those beyond max_fields.
    std::size_t size() const { return count_; }

    // Fields of the current record that were kept: min(size(), max_fields).
    std::size_t kept() const { return spans_.size(); }

    // The unescaped text of a kept field. REQUIRES: index < kept().
    std::string_view field(std::size_t index) const;

    // Whether a kept field was written in quotes. REQUIRES: index < kept().
    bool quoted(std::size_t index) const { return spans_[index].quoted; }

    // Physical 1-based line where the current record starts.
    std::size_t line() const { return record_line_; }

    // Line where a quoted field that never closes began, or 0 while none has been seen.
    std::size_t unterminated_quote_line() const { return unterminated_line_; }

    // Offset in the text where the next record begins: the current one and everything before
    // it have been read.
    std::size_t offset() const { return pos_; }

private:
    struct Span {
        std::size_t offset = 0;  // into text_, or into scratch_ when in_scratch
        std::size_t size = 0;
        bool in_scratch = false;
        bool quoted = false;
    };

    bool only_line_breaks_remain();
    bool read_field();
    Span read_unquoted();
    Span read_quoted();
    std::size_t find_quote(std::size_t from);
    void append_tail();
    bool end_field();

    std::string_view text_;
    char delimiter_;
    std::size_t max_fields_;
    std::array<bool, 256> stops_{};  // delimiter, CR and LF

    std::size_t pos_ = 0;
    std::size_t line_ = 1;                // physical line at pos_
    std::size_t content_seen_until_ = 0;  // text before this is known to precede content
    std::size_t record_line_ = 0;
    std::size_t unterminated_line_ = 0;

    std::size_t count_ = 0;
    std::vector<Span> spans_;
    std::string scratch_;
};

}  // namespace tdc::csv
