// Finding volumes: walks the inputs, classifies files by extension and content
// (docs/dicom.md, sections "What counts as a volume" and "Recognising DICOM files by content").
#include <lessmore/discovery.hpp>
#include <lessmore/error.hpp>

#include <lessmore/files.hpp>
#include <lessmore/sha256.hpp>
#include <lessmore/thread_pool.hpp>

#include "io/dicom_file.hpp"
#include "io/dicom_parser.hpp"
#include "io/nifti_file.hpp"
#include "io/volume_header.hpp"
#include "io/volume_id.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string_view>
#include <system_error>

namespace fs = std::filesystem;

namespace lessmore {

namespace {

using namespace std::string_view_literals;
constexpr std::array k_volume_exts = {".nii"sv,  ".nii.gz"sv, ".hdr"sv, ".hdr.gz"sv,
                                      ".nrrd"sv, ".nhdr"sv,   ".mha"sv, ".mhd"sv};
// The image half of a NIfTI pair: part of the volume its .hdr gives.
constexpr std::array k_pair_image_exts = {".img"sv, ".img.gz"sv};
constexpr std::array k_image_exts = {".png"sv, ".tif"sv, ".tiff"sv, ".jpg"sv, ".jpeg"sv};
// Never volumes: side files of datasets and of detached-header formats.
constexpr std::array k_skip_exts = {".txt"sv,    ".xml"sv, ".json"sv, ".csv"sv,  ".md"sv,   ".pdf"sv,
                                    ".html"sv,   ".htm"sv, ".raw"sv,  ".zraw"sv, ".gz"sv,   ".zip"sv,
                                    ".tar.gz"sv, ".py"sv,  ".sh"sv,   ".log"sv,  ".bvec"sv, ".bval"sv,
                                    ".npy"sv,    ".npz"sv, ".yaml"sv, ".yml"sv,  ".ini"sv,  ".db"sv};
constexpr std::array k_skip_names = {"DICOMDIR"sv, "DIRFILE"sv, "LICENSE"sv, "README"sv, "CITATION"sv};

template <std::size_t N>
bool in(const std::array<std::string_view, N>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

// DICOM by content: "DICM" after the preamble, or a plausible first element at byte 0
// (files without preamble, whatever their name; io/dicom_parser.hpp). One pread of the
// first 4 KB, on a descriptor opened without blocking: a file that turned into a FIFO
// since it was listed is not waited on.
bool has_dicm_magic(const fs::path& p, std::string& error) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        error = "cannot open: " + errno_text(errno);
        return false;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        error = "not a regular file";
        return false;
    }
    std::array<std::uint8_t, 4096> head{};
    const ssize_t got = ::pread(fd, head.data(), head.size(), 0);
    ::close(fd);
    return got > 0 && looks_like_dicom(head.data(), static_cast<std::size_t>(got));
}

// Why a file that is not a regular file is passed over (it is never opened: reading a
// FIFO or a device could block forever or never end).
std::string special_file(const fs::file_status& st) {
    switch (st.type()) {
    case fs::file_type::fifo:
        return "a FIFO (not a regular file)";
    case fs::file_type::socket:
        return "a socket (not a regular file)";
    case fs::file_type::character:
        return "a character device (not a regular file)";
    case fs::file_type::block:
        return "a block device (not a regular file)";
    default:
        return "not a regular file";
    }
}

constexpr const char* k_orphan_image = "an .img without its .hdr (a NIfTI pair needs both); not read";

class Walker {
public:
    explicit Walker(Discovery& out) : m_out(out) {}

    void input(const std::string& text) {
        const fs::path p(text);
        std::error_code ec;
        const fs::file_status st = fs::status(p, ec);
        if (ec || !fs::exists(st)) {
            throw UsageError(text + ": no such file or directory");
        }
        const fs::path canon = fs::weakly_canonical(fs::absolute(p), ec);
        const std::string name = (ec ? p : canon).filename().string();
        if (fs::is_directory(st)) {
            m_root_name = id_component(name.empty() ? text : name);
            m_root = path_text(p);
            walk(p, "");
        } else if (!fs::is_regular_file(st)) {
            throw UsageError(text + ": " + special_file(st) + "; an INPUT must be a file or a folder");
        } else {
            m_root_name = id_component(name);
            m_root = path_text(p.parent_path().empty() ? fs::path(".") : p.parent_path());
            single_file(p);
        }
    }

private:
    std::string id_for(const std::string& rel) const { return rel.empty() ? m_root_name : rel; }

    void single_file(const fs::path& p) {
        const std::string ext = extension_of(p);
        const std::string name = p.filename().string();
        Source s;
        s.path = path_text(p);
        s.root = m_root;
        s.id = m_root_name;
        if (in(k_volume_exts, ext)) {
            s.kind = Source::Kind::VolumeFile;
        } else if (in(k_pair_image_exts, ext) && fs::is_regular_file(nifti_pair_sibling(p))) {
            // The image half of a pair given directly: the volume its header gives.
            const fs::path header = nifti_pair_sibling(p);
            s.kind = Source::Kind::VolumeFile;
            s.path = path_text(header);
            s.id = m_root_name = id_component(header.filename().string());
        } else if (in(k_image_exts, ext)) {
            s.kind = Source::Kind::ImageFolder;
            s.path = path_text(p.parent_path().empty() ? fs::path(".") : p.parent_path());
            s.files = {name};
        } else {
            std::string err;
            if (!has_dicm_magic(p, err) && ext != ".dcm" && ext != ".ima") {
                if (err.empty() && in(k_pair_image_exts, ext)) err = k_orphan_image;
                m_out.errors.push_back({path_text(p), err.empty() ? "not a recognised volume file (DICOM, NIfTI, NRRD, "
                                                                    "MetaImage or 2D image)"
                                                                  : err});
                return;
            }
            s.kind = Source::Kind::DicomFolder;
            s.path = path_text(p.parent_path().empty() ? fs::path(".") : p.parent_path());
            s.files = {name};
        }
        m_out.sources.push_back(std::move(s));
    }

    // A regular file met in a folder: a volume of its own, one of the folder's DICOM files
    // or images, the image of a pair (read with its header), passed over, or skipped.
    void classify_file(const fs::path& p, const std::string& rel, const std::set<std::string>& listed,
                       std::vector<std::string>& dicom, std::vector<std::string>& images) {
        const std::string name = p.filename().string();
        const std::string ext = extension_of(p);
        if (in(k_volume_exts, ext)) {
            Source s;
            s.kind = Source::Kind::VolumeFile;
            s.path = path_text(p);
            s.root = m_root;
            s.id = rel.empty() ? id_component(name) : rel + "/" + id_component(name);
            m_out.sources.push_back(std::move(s));
        } else if (in(k_pair_image_exts, ext) && listed.count(nifti_pair_sibling(name).string())) {
            return;  // read with its .hdr
        } else if (in(k_image_exts, ext)) {
            images.push_back(name);
        } else if (!in(k_skip_exts, ext) && !in(k_skip_names, fs::path(name).stem().string())) {
            std::string err;
            if (has_dicm_magic(p, err) || ext == ".dcm" || ext == ".ima") {
                dicom.push_back(name);
            } else if (!err.empty()) {
                m_out.errors.push_back({path_text(p), err});
            } else if (in(k_pair_image_exts, ext)) {
                m_out.skipped.push_back({path_text(p), k_orphan_image});
            }
        }
    }

    void walk(const fs::path& dir, const std::string& rel) {
        std::error_code ec;
        const fs::path canon = fs::canonical(dir, ec);
        if (ec) {
            m_out.errors.push_back({path_text(dir), "cannot resolve folder: " + ec.message()});
            return;
        }
        if (std::find(m_stack.begin(), m_stack.end(), canon) != m_stack.end()) {
            m_out.errors.push_back(
                {path_text(dir), "symbolic link loop (leads back to " + path_text(canon) + "); skipped"});
            return;
        }
        if (!m_visited.insert(canon).second) {
            m_out.warnings.push_back({path_text(dir), "folder already scanned through another path; skipped"});
            return;
        }
        m_stack.push_back(canon);

        std::vector<std::string> names;
        fs::directory_iterator it(dir, ec);
        if (ec) {
            m_out.errors.push_back({path_text(dir), "cannot list folder: " + ec.message()});
            m_stack.pop_back();
            return;
        }
        for (; it != fs::directory_iterator(); it.increment(ec)) {
            if (ec) break;
            names.push_back(it->path().filename().string());
        }
        if (ec) m_out.errors.push_back({path_text(dir), "cannot list folder: " + ec.message()});
        std::sort(names.begin(), names.end());  // listing order must not matter
        const std::set<std::string> listed(names.begin(), names.end());

        std::vector<std::string> dicom, images, subdirs;
        for (const std::string& name : names) {
            if (name.empty() || name[0] == '.') continue;  // hidden files, our own temporaries
            const fs::path p = dir / name;
            const fs::file_status st = fs::status(p, ec);
            if (ec) {
                const bool dangling = fs::is_symlink(fs::symlink_status(p));
                m_out.errors.push_back(
                    {path_text(p), dangling ? "broken symbolic link" : "cannot read: " + ec.message()});
                continue;
            }
            if (fs::is_directory(st)) {
                subdirs.push_back(name);
                continue;
            }
            if (!fs::is_regular_file(st)) {
                m_out.skipped.push_back({path_text(p), special_file(st)});
                continue;
            }
            classify_file(p, rel, listed, dicom, images);
        }
        for (auto [kind, files] :
             {std::pair{Source::Kind::DicomFolder, &dicom}, std::pair{Source::Kind::ImageFolder, &images}}) {
            if (files->empty()) continue;
            Source s;
            s.kind = kind;
            s.path = path_text(dir);
            s.root = m_root;
            s.id = id_for(rel);
            s.files = std::move(*files);
            m_out.sources.push_back(std::move(s));
        }
        for (const std::string& name : subdirs)
            walk(dir / name, rel.empty() ? id_component(name) : rel + "/" + id_component(name));
        m_stack.pop_back();
    }

    Discovery& m_out;
    std::string m_root_name;
    std::string m_root;
    std::vector<fs::path> m_stack;
    std::set<fs::path> m_visited;
};

}  // namespace

std::string source_fingerprint(const Source& source, ThreadPool* pool) {
    // One line per file: its name, size, modification time and first 4 KB's digest.
    const auto line = [](const fs::path& p) {
        struct stat st {};
        char head[4096];
        ssize_t got = -1;
        const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (::fstat(fd, &st) == 0) got = ::pread(fd, head, sizeof head, 0);
            ::close(fd);
        }
        return p.filename().string() + '\0' + std::to_string(st.st_size) + '\0' + std::to_string(st.st_mtim.tv_sec) +
               '.' + std::to_string(st.st_mtim.tv_nsec) + '\0' +
               (got > 0 ? sha256_hex(head, static_cast<std::size_t>(got)) : "-") + '\n';
    };
    std::string summary;
    if (source.kind == Source::Kind::VolumeFile) {
        summary += line(source.path);
        const fs::path image = nifti_pair_sibling(source.path);
        if (!image.empty()) summary += line(image);
        const std::string ext = extension_of(source.path);
        if (ext == ".nhdr" || ext == ".mhd" || ext == ".nrrd" || ext == ".mha") {
            try {
                const VolumeLayout layout = read_volume_layout(source.path);
                if (!layout.attached) summary += line(layout.data_file);
            } catch (const InputError&) {
                // an unreadable header: its own bytes are in the summary already
            }
        }
    } else {
        // A folder's files, in their order: a series' 400 files are 400 opens and reads,
        // which on one thread held the other idle before the series was read.
        std::vector<std::string> lines(source.files.size());
        const auto one = [&](std::size_t i) { lines[i] = line(fs::path(source.path) / source.files[i]); };
        if (pool) {
            pool->parallel_for(lines.size(), one);
        } else {
            for (std::size_t i = 0; i < lines.size(); ++i) one(i);
        }
        for (const std::string& l : lines) summary += l;
    }
    return sha256_hex(summary.data(), summary.size());
}

namespace {

// The SeriesInstanceUID of a DICOM file ("" when it cannot be read).
// Bounded: a classic slice is well under 64 MB; anything larger (or not DICOM at all) is
// not one file of a split series and is left where it is.
std::string series_uid_of(const fs::path& path) {
    try {
        const DicomBytes file = read_dicom_bytes(path, std::size_t{64} << 20);
        return parse_dicom(file.bytes.get(), file.size, "").dataset().string(dicom_tag(0x0020, 0x000e));
    } catch (const InputError&) {
        return {};
    }
}

// Sibling DICOM folders whose first files share a SeriesInstanceUID may hold parts of one
// series, as some exports and downloads deliver them: they become one source named by
// their parent (docs/dicom.md, section "Series split over folders"). Only where the parent
// holds no DICOM files of its own, so no id changes owner.
void merge_split_series(std::vector<Source>& sources, std::size_t first) {
    std::map<std::string, std::vector<std::size_t>> by_parent;  // parent id -> indices
    std::set<std::string> own_ids;
    for (std::size_t i = first; i < sources.size(); ++i) {
        const Source& s = sources[i];
        own_ids.insert(s.id);
        const auto slash = s.id.rfind('/');
        if (s.kind == Source::Kind::DicomFolder && slash != std::string::npos && !s.files.empty()) {
            by_parent[s.id.substr(0, slash)].push_back(i);
        }
    }
    std::set<std::size_t> merged;
    std::vector<Source> added;
    for (const auto& [parent, indices] : by_parent) {
        if (indices.size() < 2 || own_ids.count(parent)) continue;
        std::map<std::string, std::vector<std::size_t>> by_uid;
        for (std::size_t i : indices) {
            const std::string uid = series_uid_of(fs::path(sources[i].path) / sources[i].files.front());
            if (!uid.empty()) by_uid[uid].push_back(i);
        }
        for (const auto& [uid, group] : by_uid) {
            if (group.size() < 2) continue;
            Source s;
            s.kind = Source::Kind::DicomFolder;
            s.path = path_text(fs::path(sources[group.front()].path).parent_path());
            s.root = sources[group.front()].root;
            s.id = parent;
            for (std::size_t i : group) {
                const std::string part = fs::path(sources[i].path).filename().string();
                s.parts.push_back(part);
                for (const std::string& f : sources[i].files) s.files.push_back(part + "/" + f);
                merged.insert(i);
            }
            added.push_back(std::move(s));
            break;  // one merged source per parent (its id is the parent's)
        }
    }
    std::vector<Source> kept(sources.begin(), sources.begin() + static_cast<std::ptrdiff_t>(first));
    for (std::size_t i = first; i < sources.size(); ++i)
        if (!merged.count(i)) kept.push_back(std::move(sources[i]));
    for (Source& s : added) kept.push_back(std::move(s));
    sources = std::move(kept);
}

}  // namespace

Discovery discover(const std::vector<std::string>& inputs) {
    Discovery out;
    Walker walker(out);
    std::map<std::string, std::string> owner;  // volume id -> input
    for (const std::string& input : inputs) {
        const std::size_t before = out.sources.size();
        walker.input(input);
        merge_split_series(out.sources, before);
        for (std::size_t i = before; i < out.sources.size(); ++i) {
            Source& s = out.sources[i];
            // A folder holding both DICOM files and 2D images gives two sources.
            if (s.kind == Source::Kind::ImageFolder && i > before && out.sources[i - 1].id == s.id) s.id += "#images";
            const auto [it, fresh] = owner.emplace(s.id, input);
            if (!fresh) {
                throw UsageError("inputs '" + it->second + "' and '" + input + "' both give a volume with id '" + s.id +
                                 "'; pass their parent folder instead");
            }
        }
    }
    std::sort(out.sources.begin(), out.sources.end(), [](const Source& a, const Source& b) { return a.id < b.id; });
    return out;
}

}  // namespace lessmore
