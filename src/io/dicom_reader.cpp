// DICOM folders: every file is parsed once (io/dicom_file.cpp), files are grouped by
// SeriesInstanceUID and ordered along the slice normal (docs/dicom.md).
#include <lessmore/error.hpp>

#include <lessmore/files.hpp>
#include <lessmore/number_format.hpp>
#include "io/dicom_file.hpp"
#include "io/dicom_values.hpp"
#include "io/readers.hpp"
#include "io/volume_id.hpp"

#include <lessmore/sha256.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

namespace lessmore {
namespace {

DicomReadOptions read_options(bool headers_only, bool include_localizers, ValuesDestination into = {}) {
    DicomReadOptions o;
    o.headers_only = headers_only;
    o.include_localizers = include_localizers;
    o.values_into = into;
    return o;
}

double dot(const std::array<double, 3>& a, const std::array<double, 3>& b) {
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

std::array<double, 3> slice_normal(const std::array<double, 6>& o) {
    return {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
}

double median_step(std::vector<double> z) {
    std::vector<double> d;
    for (std::size_t i = 1; i < z.size(); ++i) d.push_back(std::fabs(z[i] - z[i - 1]));
    if (d.empty()) return 0.0;
    std::nth_element(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(d.size() / 2), d.end());
    return d[d.size() / 2];
}

// One slice of a series: a frame of one of its files.
struct SliceEntry {
    DicomFile* file;
    std::size_t frame;
    std::optional<double> z;
};

const DicomFrame& frame_of(const SliceEntry& s) { return s.file->frames[s.frame]; }

// The series' ImageOrientationPatient: the first slice's, when every slice has one within
// 1e-4 of it (writers round the cosines differently from file to file; 1e-4 moves a voxel
// 512 columns away by under 0.04 mm at 0.7 mm spacing), else none: slices that are not
// parallel have no one orientation.
std::optional<std::array<double, 6>> common_orientation(const std::vector<SliceEntry>& slices) {
    if (slices.empty() || !frame_of(slices.front()).orientation) return std::nullopt;
    const std::array<double, 6>& o = *frame_of(slices.front()).orientation;
    for (const SliceEntry& s : slices) {
        const auto& other = frame_of(s).orientation;
        if (!other) return std::nullopt;
        for (std::size_t i = 0; i < 6; ++i)
            if (!(std::fabs((*other)[i] - o[i]) <= 1e-4)) return std::nullopt;
    }
    return o;
}

LoadedVolume failed(const std::string& id, const std::filesystem::path& path, const std::string& error) {
    LoadedVolume out;
    out.id = id;
    out.path = path_text(path);
    out.error = error;
    return out;
}

// The slices of a series in slice order: along the normal of the first frame's plane
// (then InstanceNumber, file name, frame), or by file name and frame with --order name.
std::vector<SliceEntry> ordered_slices(const std::vector<DicomFile*>& files, const LoadOptions& options) {
    std::vector<SliceEntry> slices;
    for (DicomFile* f : files)
        for (std::size_t k = 0; k < f->frames.size(); ++k) slices.push_back({f, k, std::nullopt});
    const bool geometry = std::all_of(slices.begin(), slices.end(), [](const SliceEntry& s) {
        return s.file->frames[s.frame].position && s.file->frames[s.frame].orientation;
    });
    if (geometry) {
        const auto normal = slice_normal(*slices.front().file->frames[slices.front().frame].orientation);
        for (SliceEntry& s : slices) s.z = dot(*s.file->frames[s.frame].position, normal);
    }
    const bool by_instance =
        std::all_of(files.begin(), files.end(), [](const DicomFile* f) { return f->instance.has_value(); });
    std::stable_sort(slices.begin(), slices.end(), [&](const SliceEntry& a, const SliceEntry& b) {
        if (options.order == SliceOrder::Position) {
            if (geometry && *a.z != *b.z) return *a.z < *b.z;
            if (by_instance && *a.file->instance != *b.file->instance) return *a.file->instance < *b.file->instance;
        }
        if (a.file->name != b.file->name) return a.file->name < b.file->name;
        return a.frame < b.frame;
    });
    return slices;
}

// Builds one volume from the files of one series; it reads whole or fails whole.
LoadedVolume build_series(const Source& source, const std::string& id, std::vector<DicomFile*> files,
                          const LoadOptions& options, bool headers_only) {
    const std::filesystem::path folder(source.path);
    for (const DicomFile* f : files)
        if (!f->error.empty()) return failed(id, folder / f->name, f->error);
    const DicomFile& first = *files.front();
    VoxelType type = VoxelType::Int16;
    auto range = first.value_range;
    for (const DicomFile* f : files) {
        if (f->rows != first.rows || f->columns != first.columns) {
            return failed(id, folder / f->name,
                          "slice size " + std::to_string(f->columns) + "x" + std::to_string(f->rows) +
                              " differs from " + first.name + " (" + std::to_string(first.columns) + "x" +
                              std::to_string(first.rows) + ") in the same series");
        }
        type = wider_type(type, f->type);
        range = union_range(range, f->value_range);
    }
    const std::vector<SliceEntry> slices = ordered_slices(files, options);

    VolumeInfo info;
    info.id = id;
    info.source = path_text(folder);
    info.format = "dicom";
    info.width = first.columns;
    info.height = first.rows;
    info.type = type;
    if (type != VoxelType::Float64) info.value_range = range;
    info.series_uid = first.series_uid;
    // A digest, never the ID itself: manifests and records carry no patient tags.
    // Digests too for the study and series (manifests name them without quoting the UIDs).
    const auto digest = [](const std::string& text) {
        return text.empty() ? std::string() : sha256_hex(text.data(), text.size()).substr(0, 16);
    };
    info.patient = digest(first.patient_id);
    info.study = digest(first.study_uid);
    info.series = digest(first.series_uid);
    // Geometry as written (docs/output.md, section "Geometry"): each slice's
    // ImagePositionPatient and PixelSpacing as their decimal strings say; z and the slice
    // spacing, computed from them, to 15 significant digits.
    std::vector<double> zs;
    for (const SliceEntry& s : slices) {
        const bool multi = s.file->frames.size() > 1;
        const std::optional<double> z = s.z ? std::optional<double>(decimal15(*s.z)) : std::nullopt;
        info.slices.push_back(
            {multi ? s.file->name + "#" + std::to_string(s.frame + 1) : s.file->name, z, frame_of(s).position});
        if (s.z) zs.push_back(*s.z);
    }
    info.orientation = common_orientation(slices);
    std::sort(zs.begin(), zs.end());
    const double step = decimal15(median_step(zs));
    info.spacing = {first.pixel_spacing[1], first.pixel_spacing[0],
                    step > 0 ? step : (first.thickness > 0 ? first.thickness : 1.0)};
    auto volume = std::make_unique<Volume>(std::move(info));
    if (!headers_only) {
        // Each file's frames go where their slices are (a multi-frame file's frames need
        // not be in slice order), in the series' widest value type.
        std::map<const DicomFile*, std::vector<std::size_t>> slot;
        for (std::size_t i = 0; i < slices.size(); ++i) slot[slices[i].file].resize(slices[i].file->frames.size());
        for (std::size_t i = 0; i < slices.size(); ++i) slot[slices[i].file][slices[i].frame] = i;
        for (DicomFile* f : files) {
            widen_values(f->values, f->type, type);
            volume->add_chunk_at(std::move(f->values), slot[f]);
        }
    }
    LoadedVolume out;
    out.id = id;
    out.path = path_text(folder);
    out.volume = std::move(volume);
    out.streamable = std::all_of(files.begin(), files.end(), [](const DicomFile* f) { return f->frames.size() <= 1; });
    return out;
}

// A series of single-frame files read in slice order as the reducer asks
// (LoadOptions::streams): the headers were read for the order, each file's pixels are read
// when its slice is due, and let go.
class DicomSeriesStream final : public SliceStream {
public:
    DicomSeriesStream(VolumeInfo info, std::filesystem::path folder, const ReadContext& context)
        : m_info(std::move(info)), m_folder(std::move(folder)), m_context(context) {}

    const VolumeInfo& info() const override { return m_info; }

    void read(std::size_t count, std::byte* out) override {
        if (m_next + count > m_info.slice_count()) throw std::logic_error("DicomSeriesStream: read past the end");
        const std::size_t slice_bytes = m_info.slice_bytes();
        std::vector<std::string> errors(count);
        m_context.pool.parallel_for(count, [&](std::size_t k) {
            m_context.cancel.check();
            errors[k] = read_into(m_next + k, out + k * slice_bytes);
        });
        m_next += count;
        for (const std::string& e : errors)
            if (!e.empty()) throw InputError(e);  // the lowest index: the same error on every run
    }

    bool reads_slices() const override { return true; }

    void read_slice(std::size_t index, std::byte* out) const override {
        if (index >= m_info.slice_count()) throw std::logic_error("DicomSeriesStream: read past the end");
        const std::string error = read_into(index, out);
        if (!error.empty()) throw InputError(error);
    }

private:
    // Slice `index`'s file, its values into out; the error ("" when none).
    std::string read_into(std::size_t index, std::byte* out) const {
        const std::string& name = m_info.slices[index].file;
        const ValuesDestination into{out, m_info.type, m_info.height, m_info.width};
        DicomFile f = read_dicom_file(m_folder / name, name, m_context.decoders,
                                      read_options(false, m_context.options.include_localizers, into));
        if (!f.error.empty() || f.skip || f.rows != m_info.height || f.columns != m_info.width || f.frames.size() != 1)
            return name + ": " + (f.error.empty() ? std::string("changed while being read") : f.error);
        if (f.values_in_place) return {};
        widen_values(f.values, f.type, m_info.type);
        std::memcpy(out, f.values.data(), m_info.slice_bytes());
        return {};
    }

    VolumeInfo m_info;
    std::filesystem::path m_folder;
    ReadContext m_context;
    std::size_t m_next = 0;
};

LoadedVolume skipped_file(const Source& source, const std::filesystem::path& path, const std::string& reason) {
    LoadedVolume s;
    s.id = source.id;
    s.path = path_text(path);
    s.error = reason;
    s.skipped = true;
    return s;
}

// A series for the reducer's stream: single-frame files stream slice by slice; a series
// with multi-frame files (whose frames need not come in slice order) is read whole.
LoadedVolume streamed_series(const Source& source, const std::string& id, std::vector<DicomFile*> files,
                             const ReadContext& context) {
    const std::filesystem::path folder(source.path);
    const bool single =
        std::all_of(files.begin(), files.end(), [](const DicomFile* f) { return f->frames.size() <= 1; });
    if (!single) {
        context.pool.parallel_for(files.size(), [&](std::size_t i) {
            *files[i] = read_dicom_file(folder / files[i]->name, files[i]->name, context.decoders,
                                        read_options(false, context.options.include_localizers));
        });
        return build_series(source, id, files, context.options, false);
    }
    LoadedVolume lv = build_series(source, id, files, context.options, true);
    if (lv.volume) {
        lv.stream = std::make_unique<DicomSeriesStream>(lv.volume->info(), folder, context);
        lv.volume.reset();
    }
    return lv;
}

// Files of one folder (or of the parts of a split series) grouped into volumes, each
// with its id: by SeriesInstanceUID, then, for a source made of parts, by part — unless a
// series' parts share no SOPInstanceUID, when they are pieces of one series.
struct Group {
    std::string uid;
    std::string scope;  // the id the volume takes when its scope holds a single series
    std::vector<DicomFile*> files;
};

std::string part_of(const DicomFile& f) {
    const auto slash = f.name.find('/');
    return slash == std::string::npos ? std::string() : f.name.substr(0, slash);
}

std::vector<Group> group_series(const Source& source, const std::vector<DicomFile*>& files) {
    std::map<std::string, std::vector<DicomFile*>> by_uid;
    for (DicomFile* f : files) by_uid[f->series_uid].push_back(f);
    std::vector<Group> groups;
    for (auto& [uid, members] : by_uid) {
        std::map<std::string, std::vector<DicomFile*>> by_part;
        for (DicomFile* f : members) by_part[part_of(*f)].push_back(f);
        bool copies = false;  // the same instance in two parts
        std::map<std::string, std::string> part_of_sop;
        for (const DicomFile* f : members) {
            if (f->sop_uid.empty()) continue;
            const auto [it, fresh] = part_of_sop.emplace(f->sop_uid, part_of(*f));
            copies |= !fresh && it->second != part_of(*f);
        }
        if (by_part.size() == 1 || !copies) {
            const std::string part = by_part.size() == 1 ? by_part.begin()->first : std::string();
            groups.push_back({uid, part.empty() ? source.id : source.id + "/" + id_component(part), members});
        } else {
            for (auto& [part, files_of_part] : by_part)
                groups.push_back({uid, source.id + "/" + id_component(part), files_of_part});
        }
    }
    return groups;
}

// Ids: the scope's id, plus "#label" where the scope holds several series (labels by
// SeriesNumber when unique in the scope, else by UID; io/volume_id.hpp).
std::vector<std::string> volume_ids(const std::vector<Group>& groups) {
    std::map<std::string, std::vector<std::size_t>> by_scope;
    for (std::size_t i = 0; i < groups.size(); ++i) by_scope[groups[i].scope].push_back(i);
    std::vector<std::string> ids(groups.size());
    for (const auto& [scope, members] : by_scope) {
        std::map<std::string, int> number_count, label_count;
        for (std::size_t i : members) ++number_count[groups[i].files.front()->series_number];
        std::vector<std::string> labels;
        for (std::size_t i : members) {
            const std::string& number = groups[i].files.front()->series_number;
            labels.push_back(series_label(number, number_count[number] == 1, groups[i].uid));
            ++label_count[labels.back()];
        }
        for (std::size_t k = 0; k < members.size(); ++k) {
            const Group& g = groups[members[k]];
            std::string label = labels[k];
            // A number equal to another series' UID: both distinct by their UIDs' digest.
            if (label_count[label] > 1) label += "~" + sha256_hex(g.uid.data(), g.uid.size()).substr(0, 8);
            ids[members[k]] = members.size() > 1 ? scope + "#" + label : scope;
        }
    }
    return ids;
}

}  // namespace

std::vector<LoadedVolume> read_dicom_folder(const Source& source, const ReadContext& context) {
    const LoadOptions& options = context.options;
    const bool headers_only = context.headers_only;
    const bool streams = options.streams && !headers_only;  // headers now, pixels as slices are due
    const std::filesystem::path folder(source.path);
    std::vector<DicomFile> records(source.files.size());
    HeaderBuffers buffers;
    DicomReadOptions read = read_options(headers_only || streams, options.include_localizers);
    read.buffers = &buffers;
    context.pool.parallel_for(records.size(), [&](std::size_t i) {
        context.cancel.check();
        records[i] = read_dicom_file(folder / source.files[i], source.files[i], context.decoders, read);
    });

    std::vector<LoadedVolume> out;
    std::vector<DicomFile*> images;
    const DicomFile* unknown = nullptr;  // the first file whose header could not be read
    for (DicomFile& r : records) {       // in file-name order
        if (r.skip) {
            out.push_back(skipped_file(source, folder / r.name, r.skip_reason));
        } else if (!r.header_ok) {
            if (!unknown) unknown = &r;
        } else {
            images.push_back(&r);
        }
    }
    std::vector<Group> groups = group_series(source, images);
    const std::vector<std::string> ids = volume_ids(groups);
    for (std::size_t g = 0; g < groups.size(); ++g) {
        // The same instance twice in one volume (a file copied under another name): read once.
        std::map<std::string, const DicomFile*> by_sop;
        std::vector<DicomFile*> files;
        for (DicomFile* f : groups[g].files) {
            const auto [it, fresh] =
                f->sop_uid.empty() ? std::make_pair(by_sop.end(), true) : by_sop.emplace(f->sop_uid, f);
            if (fresh) {
                files.push_back(f);
            } else {
                out.push_back(skipped_file(source, folder / f->name,
                                           "a duplicate of " + it->second->name + " (same SOPInstanceUID)"));
            }
        }
        // A file of unknown series could belong to any series here: none can be known to
        // be whole, so each fails naming it (a series reads whole or fails whole).
        if (unknown) {
            out.push_back(failed(ids[g], folder / unknown->name, unknown->error));
        } else if (streams) {
            out.push_back(streamed_series(source, ids[g], files, context));
        } else {
            out.push_back(build_series(source, ids[g], files, options, headers_only));
        }
    }
    if (unknown && groups.empty()) out.push_back(failed(source.id, folder / unknown->name, unknown->error));
    return out;  // empty when the folder held only non-image DICOM files
}

}  // namespace lessmore
