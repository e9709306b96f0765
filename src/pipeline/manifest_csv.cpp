// The manifest's CSV tables (manifest.csv, units.csv) from the manifest's JSON volumes, and
// CSV quoting (part of the run record: run_record.hpp).
#include "pipeline/run_record.hpp"

#include <lessmore/number_format.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace lessmore {

using Json = OrderedJson;

namespace {

// The CSV's columns: the first eleven as before version 0.2.0, then the rest; each a
// slice field (its JSON name), or a volume field or one element of a volume or slice list.
struct CsvColumn {
    const char* name;
    bool volume;        // from the volume object, else from the slice
    const char* field;  // the JSON field
    int element;        // -1: the field itself; else this element of its list
};
constexpr CsvColumn k_csv_columns[] = {
    {"volume", true, "id", -1},
    {"index", false, "index", -1},
    {"file", false, "file", -1},
    {"z", false, "z", -1},
    {"kept", false, "kept", -1},
    {"match", false, "match", -1},
    {"match_volume", false, "match_volume", -1},
    {"score", false, "score", -1},
    {"hash", false, "hash", -1},
    {"output", false, "output", -1},
    {"output_npy", false, "output_npy", -1},
    {"output_png", false, "output_png", -1},
    {"source", true, "source", -1},
    {"format", true, "format", -1},
    {"patient", true, "patient", -1},
    {"study", true, "study", -1},
    {"series", true, "series", -1},
    {"dtype", true, "dtype", -1},
    {"position_x", false, "position", 0},
    {"position_y", false, "position", 1},
    {"position_z", false, "position", 2},
    {"row_cosine_x", true, "orientation", 0},
    {"row_cosine_y", true, "orientation", 1},
    {"row_cosine_z", true, "orientation", 2},
    {"column_cosine_x", true, "orientation", 3},
    {"column_cosine_y", true, "orientation", 4},
    {"column_cosine_z", true, "orientation", 5},
    {"column_spacing", true, "spacing", 0},
    {"row_spacing", true, "spacing", 1},
    {"slice_spacing", true, "spacing", 2},
    {"png_offset", true, "png_offset", -1},
};

// A value as the CSV holds it: empty for null, true/false, integers as integers, other
// numbers with a decimal point or exponent (85.0, not 85), so pandas types the column
// float64 from the text alone.
std::string csv_value(const Json& v) {
    if (v.is_null()) return "";
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_string()) return csv_field(v.get<std::string>());
    if (v.is_number_integer()) return std::to_string(v.get<long long>());
    if (v.is_number_unsigned()) return std::to_string(v.get<unsigned long long>());
    const double number = v.get<double>();
    std::string text = format_number(number == 0.0 ? 0.0 : number);    // -0 as 0
    if (text.find_first_of(".en") == std::string::npos) text += ".0";  // not for 1e+20, inf, nan
    return text;
}

std::string csv_cell(const Json& object, const CsvColumn& c) {
    if (!object.contains(c.field)) return "";
    const Json& v = object[c.field];
    if (c.element < 0) return csv_value(v);
    const auto k = static_cast<std::size_t>(c.element);
    return v.is_array() && k < v.size() ? csv_value(v[k]) : std::string();
}

}  // namespace

namespace {

// The header of a table of `columns`, and its rows: one per element of volume[rows_key], the
// volume's cells computed once. Shared by the slice table and the unit table.
template <std::size_t N>
std::string csv_header(const CsvColumn (&columns)[N]) {
    std::string line;
    for (const CsvColumn& c : columns) line += (line.empty() ? "" : ",") + std::string(c.name);
    return line + "\n";
}

template <std::size_t N>
std::string csv_rows(const Json& volume, const char* rows_key, const CsvColumn (&columns)[N]) {
    std::vector<std::string> fixed;
    for (const CsvColumn& c : columns) fixed.push_back(c.volume ? csv_cell(volume, c) : std::string());
    std::string out;
    for (const Json& row : volume[rows_key]) {
        for (std::size_t k = 0; k < N; ++k) {
            if (k > 0) out += ',';
            out += columns[k].volume ? fixed[k] : csv_cell(row, columns[k]);
        }
        out += '\n';
    }
    return out;
}

}  // namespace

std::string manifest_csv_header() { return csv_header(k_csv_columns); }

std::string manifest_csv_rows(const Json& volume) { return csv_rows(volume, "slices", k_csv_columns); }

namespace {

// A unit run's columns: the volume, the unit's place (first voxel and size, z, y, x), its
// decision and files, then the volume's fields as the slice table has them.
constexpr CsvColumn k_unit_csv_columns[] = {
    {"volume", true, "id", -1},
    {"unit", false, "index", -1},
    {"first_slice", false, "first_slice", -1},
    {"end_slice", false, "end_slice", -1},
    {"origin_z", false, "origin", 0},
    {"origin_y", false, "origin", 1},
    {"origin_x", false, "origin", 2},
    {"size_z", false, "size", 0},
    {"size_y", false, "size", 1},
    {"size_x", false, "size", 2},
    {"kept", false, "kept", -1},
    {"match", false, "match", -1},
    {"match_volume", false, "match_volume", -1},
    {"score", false, "score", -1},
    {"output", false, "output", -1},
    {"output_npy", false, "output_npy", -1},
    {"unit_spec", true, "unit", -1},
    {"source", true, "source", -1},
    {"format", true, "format", -1},
    {"patient", true, "patient", -1},
    {"study", true, "study", -1},
    {"series", true, "series", -1},
    {"dtype", true, "dtype", -1},
};

}  // namespace

std::string manifest_unit_csv_header() { return csv_header(k_unit_csv_columns); }

std::string manifest_unit_csv_rows(const Json& volume) { return csv_rows(volume, "units", k_unit_csv_columns); }

std::string csv_field(const std::string& text) {
    // A spreadsheet runs a cell that starts with = + - @ (or tab, CR) as a formula: such
    // text gets a leading apostrophe, as OWASP recommends (numbers are written elsewhere).
    const bool formula = !text.empty() && std::string("=+-@\t\r").find(text[0]) != std::string::npos;
    const std::string s = formula ? "'" + text : text;
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"') out += '"';
        out += ch;
    }
    return out + "\"";
}

}  // namespace lessmore
