// The one validation of records read back from OUT or a run folder (declared in
// pipeline/run_record.hpp): whatever a record says is checked to be what lessmore would
// have written before it decides anything (docs/output.md, section "OUT's own state").
#include "pipeline/run_record.hpp"

#include <lessmore/sha256.hpp>

#include <algorithm>
#include <climits>
#include <set>

namespace lessmore {
namespace {

// Text for a message: control characters as \xNN, at most 120 bytes.
std::string shown(const std::string& text) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : text.substr(0, 120)) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7F) {
            out += "\\x";
            out += k_hex[c >> 4];
            out += k_hex[c & 15];
        } else {
            out += ch;
        }
    }
    return text.size() > 120 ? out + "..." : out;
}

// What is wrong with a '/'-separated relative path, or nothing.
std::string path_fault(const std::string& text) {
    if (text.empty()) return "is empty";
    if (text.front() == '/') return "is absolute";
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7F) return "holds a control character";
        if (ch == '\\') return "holds a backslash";
    }
    for (std::size_t start = 0;;) {
        const std::size_t slash = text.find('/', start);
        const std::string part = text.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (part.empty()) return "has an empty component";
        if (part == "." || part == "..") return "has a '" + part + "' component";
        if (slash == std::string::npos) return {};
        start = slash + 1;
    }
}

[[noreturn]] void fault(const std::string& where, const char* field, const std::string& value,
                        const std::string& what) {
    throw RecordFormatError(where + "field '" + field + "' ('" + shown(value) + "') " + what);
}

// File systems allow 255 bytes per name: a longer id component keeps its first 180 bytes
// (whole UTF-8 characters) and gains a digest of the whole, so distinct names stay distinct.
std::string short_name(const std::string& name) {
    if (name.size() <= 200) return name;
    std::size_t cut = 180;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    return name.substr(0, cut) + "~" + sha256_hex(name.data(), name.size()).substr(0, 16);
}

// A kept slice's output is one of the names lessmore gives it (PNG or NPY, nested or
// flat: the record alone does not say which the run used).
void check_output(const std::string& where, const char* field, const std::string& rel, const std::string& id,
                  std::size_t index, std::initializer_list<const char*> exts) {
    try {
        check_slice_path(rel, field);
    } catch (const RecordFormatError& e) {
        throw RecordFormatError(where + e.what());
    }
    for (const char* ext : exts)
        for (const bool flat : {false, true})
            if (rel == slice_output_path(id, index, ext, flat)) return;
    fault(where, field, rel,
          "is not the file lessmore names for this slice (" + slice_output_path(id, index, *exts.begin(), false) + ")");
}

}  // namespace

void check_volume_id(const std::string& id, const char* field) {
    const std::string what = path_fault(id);
    if (!what.empty()) fault("", field, id, what);
}

void check_slice_path(const std::string& rel, const char* field) {
    const std::string what = path_fault(rel);
    if (!what.empty()) fault("", field, rel, "names a file outside slices/: it " + what);
    if (rel.rfind("slices/", 0) != 0) fault("", field, rel, "names a file outside slices/");
}

std::string slice_output_path(const std::string& id, std::size_t index, const char* ext, bool flat) {
    const std::string suffix = std::to_string(index) + "." + ext;
    std::string path = "slices/";
    if (flat) {
        // '/' becomes '+', which ids never hold themselves (io/volume_id.hpp escapes it), so
        // two volumes never share a flat name.
        std::string name = id;
        std::replace(name.begin(), name.end(), '/', '+');
        return path + short_name(name) + "_" + suffix;
    }
    std::size_t start = 0;
    for (std::size_t slash = id.find('/');; slash = id.find('/', start)) {
        path += short_name(id.substr(start, slash == std::string::npos ? std::string::npos : slash - start)) + "/";
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return path + suffix;
}

void validate(const VolumeRecord& v) {
    const std::string& id = v.info.id;
    try {
        check_volume_id(id, "id");
    } catch (const RecordFormatError& e) {
        throw RecordFormatError(std::string("volume: ") + e.what());
    }
    const std::string volume = "volume '" + shown(id) + "': ";
    const std::size_t n = v.slices.size();
    std::size_t kept = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const SliceRecord& s = v.slices[k];
        const std::string where = volume + "slice " + std::to_string(k) + ": ";
        if (s.index != k)
            fault(where, "index", std::to_string(s.index),
                  "is not " + std::to_string(k) + " (slices are numbered 0..n-1 in order)");
        kept += s.kept;
        if (s.kept && s.match) fault(where, "match", std::to_string(*s.match), "is set for a kept slice");
        if (!s.kept && s.match && (*s.match >= n || *s.match == k || !v.slices[*s.match].kept)) {
            fault(where, "match", std::to_string(*s.match), "is not another kept slice of the volume");
        }
        if (!s.kept && !(s.output.empty() && s.output_npy.empty())) {
            fault(where, "output", s.output.empty() ? s.output_npy : s.output, "is set for a removed slice");
        }
        if (!s.output.empty()) check_output(where, "output", s.output, id, k, {"png", "npy"});
        if (!s.output_npy.empty()) {
            if (s.output.empty() || s.output == s.output_npy)
                fault(where, "output_npy", s.output_npy, "has no PNG beside it");
            check_output(where, "output_npy", s.output_npy, id, k, {"npy"});
        }
    }
    if (kept != v.kept)
        fault(volume, "kept", std::to_string(v.kept), "is not the " + std::to_string(kept) + " slices marked kept");
}

void validate(const SourceRecord& r) {
    check_volume_id(r.source, "source");
    const std::string& source = r.source;
    for (std::size_t k = 0; k < r.volumes.size(); ++k) {
        const std::string& id = r.volumes[k].info.id;
        check_volume_id(id, "id");
        const bool below = id == source || (id.size() > source.size() && id.compare(0, source.size(), source) == 0 &&
                                            (id[source.size()] == '/' || id[source.size()] == '#'));
        if (!below) fault("", "id", id, "is not a volume of source '" + shown(source) + "'");
        if (k > 0 && !(r.volumes[k - 1].info.id < id)) fault("", "id", id, "is out of order or repeated in its record");
        validate(r.volumes[k]);
    }
}

}  // namespace lessmore
