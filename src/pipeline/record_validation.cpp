// The one validation of records read back from OUT or a run folder (declared in
// pipeline/run_record.hpp): whatever a record says is checked to be what lessmore would
// have written before it decides anything (docs/output.md, section "OUT's own state").
#include "pipeline/run_record.hpp"

#include <lessmore/sha256.hpp>

#include <algorithm>
#include <climits>
#include <set>
#include <string>
#include <vector>

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

// File systems allow 255 bytes per name: a longer name keeps its first 180 bytes (whole
// UTF-8 characters) and gains a digest of the whole, so distinct names stay distinct.
std::string short_name(const std::string& name) {
    if (name.size() <= 200) return name;
    std::size_t cut = 180;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    return name.substr(0, cut) + "~" + sha256_hex(name.data(), name.size()).substr(0, 16);
}

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The extensions of the images and volumes lessmore reads and writes, any case.
bool has_image_extension(const std::string& name) {
    static const char* const k_extensions[] = {".nii",  ".nii.gz", ".hdr",  ".hdr.gz", ".img",   ".img.gz", ".nrrd",
                                               ".nhdr", ".mha",    ".mhd",  ".dcm",    ".dicom", ".ima",    ".png",
                                               ".npy",  ".tif",    ".tiff", ".jpg",    ".jpeg"};
    std::string lower = name;
    for (char& ch : lower)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    for (const char* ext : k_extensions)
        if (lower.size() > std::char_traits<char>::length(ext) && ends_with(lower, ext)) return true;
    return false;
}

// One id component as a folder name below slices/ (docs/output.md, section "Slice file
// names"), before shortening. Ids hold '#' only between a folder and its series label,
// and '%' only in %XX escapes (io/volume_id.hpp): the series '#' becomes '@' (which needs
// no quoting in a shell or a URL path) and a '@' of the input name becomes %40, so no two
// components meet. A name ending in an image extension gains ".d" (abdomen.nii.gz ->
// abdomen.nii.gz.d), so `**/*.nii.gz` finds no folder and no folder is named like a slice
// file; one that would end so without its trailing ".d"s gains one more (a folder
// "x.nii.d" -> "x.nii.d.d"), which keeps the mapping one-to-one.
std::string folder_name(const std::string& component) {
    std::string out;
    out.reserve(component.size() + 2);
    for (char ch : component) {
        if (ch == '#') {
            out += '@';
        } else if (ch == '@') {
            out += "%40";
        } else {
            out += ch;
        }
    }
    std::string core = out;
    while (ends_with(core, ".d")) core.resize(core.size() - 2);
    if (has_image_extension(core)) out += ".d";
    return out;
}

// Digits of the largest index: file names of one volume sort in slice order.
std::size_t index_width(std::size_t count) {
    std::size_t width = 1;
    for (std::size_t last = count > 0 ? count - 1 : 0; last >= 10; last /= 10) ++width;
    return width;
}

// A kept slice's output is one of the names lessmore gives it (PNG or NPY, nested or
// flat: the record alone does not say which the run used).
void check_output(const std::string& where, const char* field, const std::string& rel, const std::string& id,
                  std::size_t index, std::size_t count, std::initializer_list<const char*> exts) {
    try {
        check_slice_path(rel, field);
    } catch (const RecordFormatError& e) {
        throw RecordFormatError(where + e.what());
    }
    for (const char* ext : exts)
        for (const bool flat : {false, true})
            if (rel == slice_output_path(id, index, count, ext, flat)) return;
    fault(where, field, rel,
          "is not the file lessmore names for this slice (" +
              slice_output_path(id, index, count, *exts.begin(), false) + ")");
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

std::string slice_output_path(const std::string& id, std::size_t index, std::size_t count, const char* ext, bool flat) {
    std::string number = std::to_string(index);
    const std::size_t width = index_width(std::max(count, index + 1));
    if (number.size() < width) number.insert(0, width - number.size(), '0');
    const std::string file = number + "." + ext;
    std::vector<std::string> names;
    for (std::size_t start = 0;;) {
        const std::size_t slash = id.find('/', start);
        names.push_back(folder_name(id.substr(start, slash == std::string::npos ? std::string::npos : slash - start)));
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    std::string path = "slices/";
    if (flat) {
        // The folders' names joined by %2F, the escape of '/', which no name holds.
        std::string name;
        for (const std::string& n : names) name += (name.empty() ? "" : "%2F") + n;
        return path + short_name(name) + "_" + file;
    }
    for (const std::string& n : names) path += short_name(n) + "/";
    return path + file;
}

std::string unit_output_path(const std::string& id, std::size_t index, std::size_t count, const char* ext, bool flat) {
    // A slice's name with "unit_" before the index: <folders>/unit_<index>.<ext>, or flat
    // <folders joined>_unit_<index>.<ext> (the index holds no '_').
    std::string path = slice_output_path(id, index, count, ext, flat);
    path.insert(flat ? path.rfind('_') + 1 : path.rfind('/') + 1, "unit_");
    return path;
}

namespace {

// A unit run's volume: units numbered 0..n-1, inside the volume, matches and outputs as
// for slices (each output exactly the file lessmore names for that unit).
void validate_units(const VolumeRecord& v, const std::string& volume) {
    const std::size_t n = v.units.size();
    const std::array<std::size_t, 3> shape{v.info.slice_count(), static_cast<std::size_t>(v.info.height),
                                           static_cast<std::size_t>(v.info.width)};
    std::size_t kept = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const UnitRecord& u = v.units[k];
        const std::string where = volume + "unit " + std::to_string(k) + ": ";
        if (u.index != k) fault(where, "index", std::to_string(u.index), "is not " + std::to_string(k));
        for (std::size_t a = 0; a < 3; ++a)
            if (u.size[a] < 1 || static_cast<std::size_t>(u.origin[a]) + static_cast<std::size_t>(u.size[a]) > shape[a])
                fault(where, "size", std::to_string(u.size[a]), "does not fit inside the volume");
        kept += u.kept;
        if (u.kept && u.match) fault(where, "match", std::to_string(*u.match), "is set for a kept unit");
        if (!u.kept && u.match && (*u.match >= n || *u.match == k || !v.units[*u.match].kept))
            fault(where, "match", std::to_string(*u.match), "is not another kept unit of the volume");
        if (!u.kept && !(u.output.empty() && u.output_npy.empty()))
            fault(where, "output", u.output.empty() ? u.output_npy : u.output, "is set for a removed unit");
        // Nested or flat: the record alone does not say which the run used.
        const auto named = [&](const std::string& rel, const char* ext) {
            return rel == unit_output_path(v.info.id, k, n, ext, false) ||
                   rel == unit_output_path(v.info.id, k, n, ext, true);
        };
        if (!u.output.empty() && !named(u.output, "nii.gz") && !named(u.output, "npy"))
            fault(where, "output", u.output, "is not the file lessmore names for this unit");
        if (!u.output_npy.empty() && (u.output.empty() || !named(u.output_npy, "npy")))
            fault(where, "output_npy", u.output_npy, "is not the NPY lessmore names beside this unit's NIfTI");
    }
    if (kept != v.kept)
        fault(volume, "kept", std::to_string(v.kept), "is not the " + std::to_string(kept) + " units marked kept");
}

}  // namespace

void validate(const VolumeRecord& v) {
    const std::string& id = v.info.id;
    try {
        check_volume_id(id, "id");
    } catch (const RecordFormatError& e) {
        throw RecordFormatError(std::string("volume: ") + e.what());
    }
    const std::string volume = "volume '" + shown(id) + "': ";
    if (!v.unit.empty()) {
        validate_units(v, volume);
        return;
    }
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
        if (!s.output.empty()) check_output(where, "output", s.output, id, k, n, {"png", "npy"});
        if (!s.output_npy.empty()) {
            if (s.output.empty() || s.output == s.output_npy)
                fault(where, "output_npy", s.output_npy, "has no PNG beside it");
            check_output(where, "output_npy", s.output_npy, id, k, n, {"npy"});
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
