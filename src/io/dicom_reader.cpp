// DICOM folders: every file is parsed once (io/dicom_file.cpp), files are grouped by
// SeriesInstanceUID and ordered along the slice normal (docs/dicom.md).
#include <lessmore/error.hpp>

#include "io/dicom_file.hpp"
#include <lessmore/files.hpp>
#include "io/readers.hpp"
#include "io/volume_id.hpp"

#include <lessmore/sha256.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>

namespace lessmore {
namespace {

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

// Builds one volume from the files of one series.
LoadedVolume build_series(const Source& source, const std::string& id, std::vector<DicomFile*> files,
                          const LoadOptions& options, bool headers_only) {
    const std::filesystem::path folder(source.path);
    LoadedVolume out;
    out.id = id;
    out.path = path_text(folder);
    for (const DicomFile* f : files) {
        if (!f->error.empty()) {
            out.path = path_text(folder / f->name);
            out.error = f->error;
            return out;
        }
        if (f->frames > 1) {
            out.path = path_text(folder / f->name);
            out.error = "multi-frame DICOM (" + std::to_string(f->frames) + " frames) is not supported";
            return out;
        }
    }
    const DicomFile& first = *files.front();
    for (const DicomFile* f : files) {
        if (f->rows != first.rows || f->columns != first.columns) {
            out.path = path_text(folder / f->name);
            out.error = "slice size " + std::to_string(f->columns) + "x" + std::to_string(f->rows) + " differs from " +
                        first.name + " (" + std::to_string(first.columns) + "x" + std::to_string(first.rows) +
                        ") in the same series";
            return out;
        }
    }
    if (first.rows <= 0 || first.columns <= 0) {
        out.path = path_text(folder / first.name);
        out.error = "image has no rows or columns";
        return out;
    }

    // Position along the slice normal of the series' first file.
    const bool geometry = std::all_of(files.begin(), files.end(), [](const DicomFile* f) {
        return f->position && f->orientation;
    });
    std::vector<std::optional<double>> z(files.size());
    if (geometry) {
        const auto normal = slice_normal(*first.orientation);
        for (std::size_t i = 0; i < files.size(); ++i) z[i] = dot(*files[i]->position, normal);
    }
    std::vector<std::size_t> order(files.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    const bool by_instance = std::all_of(files.begin(), files.end(), [](const DicomFile* f) { return f->instance.has_value(); });
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const DicomFile& fa = *files[a];
        const DicomFile& fb = *files[b];
        if (options.order == SliceOrder::Position) {
            if (geometry && *z[a] != *z[b]) return *z[a] < *z[b];
            if (by_instance && *fa.instance != *fb.instance) return *fa.instance < *fb.instance;
        }
        return fa.name < fb.name;
    });

    VolumeInfo info;
    info.id = id;
    info.source = path_text(folder);
    info.format = "dicom";
    info.width = first.columns;
    info.height = first.rows;
    info.type = VoxelType::Int16;
    std::vector<double> zs;
    for (std::size_t k : order) {
        info.slices.push_back({files[k]->name, z[k]});
        if (z[k]) zs.push_back(*z[k]);
    }
    std::sort(zs.begin(), zs.end());
    const double step = median_step(zs);
    info.spacing = {first.pixel_spacing[1], first.pixel_spacing[0],
                    step > 0 ? step : (first.thickness > 0 ? first.thickness : 1.0)};
    auto volume = std::make_unique<Volume>(std::move(info));
    if (!headers_only) {
        for (std::size_t k : order) volume->add_chunk(std::move(files[k]->hu), 1);
    }
    out.volume = std::move(volume);
    return out;
}

}  // namespace

std::vector<LoadedVolume> read_dicom_folder(const Source& source, const ReadContext& context) {
    const LoadOptions& options = context.options;
    const bool headers_only = context.headers_only;
    const std::filesystem::path folder(source.path);
    std::vector<DicomFile> records(source.files.size());
    context.pool.parallel_for(records.size(), [&](std::size_t i) {
        context.cancel.check();
        records[i] = read_dicom_file(folder / source.files[i], source.files[i], context.decoders, headers_only);
    });

    std::vector<LoadedVolume> out;
    std::map<std::string, std::vector<DicomFile*>> series;  // by SeriesInstanceUID
    const DicomFile* unknown = nullptr;  // the first file whose header could not be read
    for (DicomFile& r : records) {
        if (r.skip) continue;
        if (!r.header_ok) {
            if (!unknown) unknown = &r;
            continue;
        }
        series[r.series_uid].push_back(&r);
    }
    // A file of unknown series could belong to any series here: none can be known to be
    // whole, so each fails naming it (a series reads whole or fails whole).
    auto failure = [&](const std::string& id) {
        LoadedVolume bad;
        bad.id = id;
        bad.path = path_text(folder / unknown->name);
        bad.error = unknown->error;
        return bad;
    };
    if (unknown && series.empty()) out.push_back(failure(source.id));
    // Label series by SeriesNumber when that is unique in the folder, else by UID
    // (io/volume_id.hpp: labels never carry '/', '..' or other path syntax).
    std::map<std::string, int> number_count;
    for (const auto& [uid, files] : series) ++number_count[files.front()->series_number];
    std::map<std::string, int> label_count;
    std::vector<std::string> labels;
    for (const auto& [uid, files] : series) {
        const std::string& number = files.front()->series_number;
        labels.push_back(series_label(number, number_count[number] == 1, uid));
        ++label_count[labels.back()];
    }
    std::size_t k = 0;
    for (auto& [uid, files] : series) {
        std::string id = source.id;
        if (series.size() > 1) {
            std::string label = labels[k];
            // A number equal to another series' UID: both distinct by their UIDs' digest.
            if (label_count[label] > 1) label += "~" + sha256_hex(uid.data(), uid.size()).substr(0, 8);
            id += "#" + label;
        }
        ++k;
        out.push_back(unknown ? failure(id) : build_series(source, id, files, options, headers_only));
    }
    return out;  // empty when the folder held only non-image DICOM files
}

}  // namespace lessmore
