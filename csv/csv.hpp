// The CSV side of an upload: decoding, parsing, validating and typing a CSV file so that it can
// become a PostgreSQL table. Pure library: no database, no network, no global state.
//
// Use: decode() the raw bytes, analyze() the Document once to get a Plan (column names and
// types, row count), then stream the values with a RowReader over the same Document and Plan.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "csv/record_reader.hpp"

namespace tdc::csv {

// PostgreSQL allows at most this many columns in a table; a wider header is rejected.
inline constexpr std::size_t kMaxColumns = 1600;

// PostgreSQL's identifier length limit in bytes; longer names are cut, never left to the server.
inline constexpr std::size_t kMaxNameBytes = 63;

// A column's PostgreSQL type.
enum class Type { Integer, Bigint, Numeric, Boolean, Date, Timestamp, TimestampTz, Text };

// Returns PostgreSQL's spelling of `type`, e.g. "timestamp with time zone".
std::string_view sql_name(Type type);

// Returns the type a user override names: any spelling sql_name() gives, or "int", "int4",
// "int8", "bool", "timestamp", "timestamptz"; letter case is ignored. nullopt for anything else.
std::optional<Type> type_from_sql_name(std::string_view name);

// How RowReader rewrites a column's values for COPY. analyze() decides it along with the type.
enum class Layout {
    AsIs,        // the value is already PostgreSQL input syntax (booleans still become true/false)
    DayFirst,    // "31/12/2012" -> "2012-12-31"
    MonthFirst,  // "12/31/2012" -> "2012-12-31"
    DecimalComma,  // "1.234,56" -> "1234.56"
};

struct Options {
    std::optional<char> delimiter;        // override; else detected from the header line
    std::optional<std::string> encoding;  // "utf-8" or "windows-1252" (any case); else automatic
    std::map<std::string, Type> types;    // forced type per column, keyed by final column name
    bool decimal_comma = false;           // read "1.234,56" as the number 1234.56
    std::size_t max_error_lines = 100;    // how many offending lines a rejection lists
};

// One record with the wrong number of fields. `line` is the physical 1-based line where the
// record starts.
struct LineError {
    std::size_t line = 0;
    std::size_t found = 0;
    std::size_t expected = 0;
};

// Why an upload is refused. `status` is an HTTP status; `error` a short stable code;
// `detail` a full sentence for people; `lines` the offending records for "ragged_rows".
struct Rejection {
    int status = 400;
    std::string error;
    std::string detail;
    std::vector<LineError> lines;
};

struct Column {
    std::string name;    // final, unique name; at most kMaxNameBytes bytes of valid UTF-8
    std::string header;  // the header field as it appeared in the (decoded) file
    Type type = Type::Text;
    Layout layout = Layout::AsIs;
};

// A decoded upload: UTF-8 text without byte-order mark, and how it was read. `text` views either
// the caller's bytes (decode_in_place() of valid UTF-8) or `owned`; copies share `owned`.
struct Document {
    std::string_view text;
    std::shared_ptr<const std::string> owned;  // the text when decoding had to make it
    std::string encoding;                      // "utf-8" or "windows-1252"
    char delimiter = ',';
};

// What analysis over every record found.
struct Plan {
    std::vector<Column> columns;
    std::size_t rows = 0;  // data records; the header is not counted
};

// Decodes an upload's raw bytes into a Document.
// Rejections: "empty_file" (zero bytes), "bad_delimiter" (options.delimiter is a quote, line
// break, zero or non-ASCII byte), "unsupported_encoding" (options.encoding is neither UTF-8 nor
// Windows-1252), "bad_encoding" (a zero byte, e.g. UTF-16; bytes that are not valid in the forced
// encoding; or, automatically, bytes that are neither UTF-8 nor Windows-1252), naming the byte
// offset and line. Without options.encoding, valid UTF-8 is kept and anything else is read as
// Windows-1252. A leading UTF-8 byte-order mark is always dropped. Status 500
// "encoding_unavailable" when this system's iconv cannot decode Windows-1252. Without
// options.delimiter the delimiter is whichever of , ; TAB | splits the header record into the most
// fields (ties go in that order; comma when none splits it).
// The Document owns its text.
std::variant<Document, Rejection> decode(std::string raw, const Options& options);

// decode() without copying valid UTF-8: the Document's text then views `raw` (after any
// byte-order mark); only Windows-1252 input is converted into text the Document owns.
// REQUIRES: `raw` outlives the Document and every reader over it.
std::variant<Document, Rejection> decode_in_place(std::string_view raw, const Options& options);

// The byte checks of decode() (no zero byte, well-formed UTF-8), made piece by piece while an
// upload arrives, so that decoding need not read the whole upload once more.
class ByteCheck {
public:
    // Checks the next `bytes` of the upload.
    void add(std::string_view bytes);

    // Bytes added so far.
    std::size_t size() const { return size_; }

    // True when the bytes added so far hold no zero byte and are well-formed UTF-8, also at
    // their end.
    bool clean_utf8() const;

private:
    std::size_t size_ = 0;
    bool clean_ = true;
    std::string pending_;  // the last character seen, checked once the bytes after it come
};

// decode_in_place() for an upload `checked` has read: when `checked` saw exactly `raw` and found
// it clean UTF-8, the byte checks are not made again. Same results as decode_in_place().
std::variant<Document, Rejection> decode_in_place(std::string_view raw, const Options& options,
                                                  const ByteCheck& checked);

// Reads every record of `document` once, keeping per-column state only, and returns the Plan.
// Rejections: "empty_file" (no header record), "too_many_columns" (over kMaxColumns),
// "bad_type_override" (options.types names no column), "unterminated_quote" (naming the line
// where the open field began), "ragged_rows" (every record whose field count differs from the
// header's is counted; the first options.max_error_lines are listed), "bad_value" (a forced
// type that a value cannot take, naming its line).
std::variant<Plan, Rejection> analyze(const Document& document, const Options& options);

// analyze() a slice of records at a time, for a caller that acts on the rows read so far while
// later ones are still to come (an upload sends them to the database under the types its first
// rows suggest, and checks that every later row keeps those types).
class Analyzer {
public:
    // Reads the header record. REQUIRES: `document` outlives the analyzer.
    Analyzer(const Document& document, const Options& options);
    ~Analyzer();
    Analyzer(const Analyzer&) = delete;
    Analyzer& operator=(const Analyzer&) = delete;

    // Reads up to `count` more data records, handing each to `each` (when set) once its values
    // are counted. Returns false when none was left to read, or the header already refuses the
    // file.
    bool read(std::size_t count, const std::function<void(const RecordReader&)>& each = {});

    // What analyze() finds in the records read so far: once read() has returned false, exactly
    // what analyze() returns for the document.
    std::variant<Plan, Rejection> plan() const;

    // Data records read so far.
    std::size_t rows() const;

    // Offset in the document's text up to which records have been read.
    std::size_t offset() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

// True when `a` and `b` have the same columns in the same order: names, types and layouts.
bool same_columns(const Plan& a, const Plan& b);

// Streams the data records of a Document with values ready for PostgreSQL COPY, not yet
// COPY-escaped: nullopt is SQL NULL, anything else the value in the column type's input syntax.
// An empty field is NULL, except in a text column where a quoted empty field ("") is "".
// REQUIRES: `plan` came from analyze(document, ...) and both outlive the reader.
class RowReader {
public:
    RowReader(const Document& document, const Plan& plan);

    // Fills `values` (resized to the column count) with the next record and returns true, or
    // returns false at the end.
    bool next(std::vector<std::optional<std::string>>& values);

    // Physical 1-based line where the record last returned by next() starts.
    std::size_t line() const { return records_.line(); }

    // Offset in the document's text up to which records have been read.
    std::size_t offset() const { return records_.offset(); }

private:
    RecordReader records_;
    const std::vector<Column>& columns_;
};

// Sets `values` to the current record of `record` as RowReader::next() would for `columns`:
// for a caller that reads the records itself (Analyzer::read's `each`).
void record_values(const RecordReader& record, const std::vector<Column>& columns,
                   std::vector<std::optional<std::string>>& values);

// Returns a table name for an upload's `table` field, or, with `strip_extension`, for its file
// name (directories and the last extension dropped): lower-cased, every character other than an
// ASCII letter, digit or '_' replaced by '_', a leading digit prefixed with "t_", cut to
// kMaxNameBytes. An empty result becomes "upload".
std::string table_name(std::string_view requested_or_file_name, bool strip_extension);

}  // namespace tdc::csv
