// A fuzz corpus made from the project's own test data: every DICOM transfer syntax,
// NIfTI (.nii and .nii.gz), NRRD, MetaImage and PNG/JPEG/TIFF files truncated at many
// offsets, with header bytes mutated and bits flipped in headers and compressed streams.
// Whatever the damage: no abort, crash or hang (exit 0 or 1 within the time limit), the
// good volume beside the damaged files is reduced, and every truncated file — damage a
// reader must notice — is listed in the manifest's errors by its path.
#include "test_support.hpp"

#include <cstdlib>

#include <opencv2/imgcodecs.hpp>

#include <map>
#include <optional>
#include <random>
#include <set>

namespace lessmore {
namespace {

using nlohmann::json;

struct Seed {
    std::string name;  // file name in the corpus (its extension decides the reader)
    std::string bytes;
    std::size_t header = 0;  // bytes of header (where mutations aim), 0: the first 2 KB
};

struct Case {
    std::string file;  // relative to the corpus root
    bool must_notice = false;
};

class Corpus {
public:
    explicit Corpus(test::fs::path root, unsigned seed) : m_root(std::move(root)), m_rng(seed) {}

    // Truncations at fixed and random offsets; byte mutations and bit flips in the header;
    // bit flips in the data (the compressed stream, for compressed files).
    void add(const Seed& s) {
        const std::size_t n = s.bytes.size();
        // The header region: where the file's structure is described (half a small file).
        const std::size_t header = std::min(n / 2, s.header ? s.header : std::size_t{2048});
        std::set<std::size_t> cuts = {0, 1, 8, 64, 128, 131, 132, 140, 200, 348, 352, 500, 1000, 2000, 4000, 8000};
        for (int k = 0; k < 8; ++k) cuts.insert(std::uniform_int_distribution<std::size_t>(header, n - 1)(m_rng));
        for (std::size_t back : {1, 2, 4, 8, 100}) cuts.insert(n > back ? n - back : 0);
        for (std::size_t cut : cuts)
            if (cut < n) write(s, "cut" + std::to_string(cut), s.bytes.substr(0, cut), true);
        for (int k = 0; k < 16; ++k) {
            std::string b = s.bytes;
            const std::size_t at = std::uniform_int_distribution<std::size_t>(0, header - 1)(m_rng);
            const int kind = k % 4;
            b[at] = static_cast<char>(kind == 0 ? 0x00 : kind == 1 ? 0xFF : kind == 2 ? 0x7F : m_rng() & 0xFF);
            if (kind == 1 && at + 3 < n) b[at + 1] = b[at + 2] = b[at + 3] = '\xFF';  // a huge length
            write(s, "byte" + std::to_string(at), b, false);
        }
        for (int k = 0; k < 16; ++k) {
            std::string b = s.bytes;
            const bool in_header = k < 8;
            const std::size_t at = in_header ? std::uniform_int_distribution<std::size_t>(0, header - 1)(m_rng)
                                             : std::uniform_int_distribution<std::size_t>(header, n - 1)(m_rng);
            b[at] = static_cast<char>(b[at] ^ (1 << (m_rng() % 8)));
            write(s, "flip" + std::to_string(at), b, false);
        }
    }

    // DICOM seeds: the header made to disagree with the pixel data or the codestream —
    // Rows or Columns one more or less, Columns 65535, BitsAllocated 32, a colour
    // PhotometricInterpretation. Every one must fail its file (docs/dicom.md, "Compressed
    // pixel data" and "What makes a series fail"); Rows and Columns swapped must fail or
    // give the same image (a square one).
    void add_header_mutations(const Seed& s) {
        const auto rows = us_value(s.bytes, 0x0010), columns = us_value(s.bytes, 0x0011);
        if (!rows || !columns) return;
        const auto with = [&](std::uint16_t element, std::uint16_t value) {
            std::string b = s.bytes;
            set_us(b, element, value);
            return b;
        };
        write(s, "rows-plus1", with(0x0010, static_cast<std::uint16_t>(*rows + 1)), true);
        write(s, "rows-minus1", with(0x0010, static_cast<std::uint16_t>(*rows - 1)), true);
        write(s, "columns-plus1", with(0x0011, static_cast<std::uint16_t>(*columns + 1)), true);
        write(s, "columns-65535", with(0x0011, 65535), true);
        if (us_value(s.bytes, 0x0100)) write(s, "bits32", with(0x0100, 32), true);
        std::string swapped = with(0x0010, *columns);
        set_us(swapped, 0x0011, *rows);
        write(s, "swapped", swapped, *rows != *columns);
        const std::size_t photometric = element_value(s.bytes, 0x0004, "CS");
        if (photometric != std::string::npos) {
            std::string b = s.bytes;
            const std::size_t length = static_cast<std::uint8_t>(b[photometric - 2]);
            const std::string colour = length >= 13 ? "PALETTE COLOR" : "RGB";
            b.replace(photometric, colour.size(), colour);
            for (std::size_t k = colour.size(); k < length; ++k) b[photometric + k] = ' ';
            write(s, "colour", b, true);
        }
    }

    const std::vector<Case>& cases() const { return m_cases; }

private:
    // Where the value of (0028,element) starts, in explicit VR little endian (tag, VR, 2-byte
    // length), or npos.
    static std::size_t element_value(const std::string& b, std::uint16_t element, const char* vr) {
        std::string tag("\x28\x00", 2);
        tag.push_back(static_cast<char>(element & 0xff));
        tag.push_back(static_cast<char>(element >> 8));
        tag += vr;
        const std::size_t at = b.find(tag);
        return at == std::string::npos || at + 8 > b.size() ? std::string::npos : at + 8;
    }
    static std::optional<std::uint16_t> us_value(const std::string& b, std::uint16_t element) {
        const std::size_t at = element_value(b, element, "US");
        if (at == std::string::npos || at + 2 > b.size() || b[at - 2] != 2) return std::nullopt;
        return static_cast<std::uint16_t>(static_cast<std::uint8_t>(b[at]) | static_cast<std::uint8_t>(b[at + 1]) << 8);
    }
    static void set_us(std::string& b, std::uint16_t element, std::uint16_t value) {
        const std::size_t at = element_value(b, element, "US");
        b[at] = static_cast<char>(value & 0xff);
        b[at + 1] = static_cast<char>(value >> 8);
    }

    void write(const Seed& s, const std::string& what, const std::string& bytes, bool must_notice) {
        // Each case in a folder of its own: its own source, so its damage is its own.
        const std::string folder = s.name + "-" + what;
        test::write_file(m_root / folder / s.name, bytes);
        m_cases.push_back({folder + "/" + s.name, must_notice});
    }

    test::fs::path m_root;
    std::mt19937 m_rng;
    std::vector<Case> m_cases;
};

std::string file(const test::fs::path& p) { return test::read_file(p); }

// A CT-like 64x48x6 int16 volume.
std::string voxels() {
    std::string v;
    for (int z = 0; z < 6; ++z)
        for (int y = 0; y < 48; ++y)
            for (int x = 0; x < 64; ++x) {
                const auto value = static_cast<std::int16_t>(
                    ((x - 32) * (x - 32) + (y - 24) * (y - 24) < 400 ? 40 : -1000) + z * 3 + x);
                v.append(reinterpret_cast<const char*>(&value), 2);
            }
    return v;
}

std::vector<Seed> dicom_seeds() {
    const auto quirks = test::source_dir() / "tests" / "data" / "dicom-quirks";
    std::vector<Seed> seeds;
    for (const char* name : {"CT1_UNC", "CT1_RLE", "CT1_JPLL", "CT1_JLSL", "CT1_JLSN", "CT1_J2KR", "CT1_J2KI"}) {
        seeds.push_back({std::string(name) + ".dcm", file(quirks / "wg04-ct1" / name), 1400});
    }
    for (const char* name : {"693_J2KR.dcm", "explicit_VR-UN.dcm", "bad_sequence.dcm", "eCT_Supplemental.dcm"}) {
        seeds.push_back({name, file(quirks / "pydicom-data" / name), 0});
    }
    // The reader fixtures: an enhanced CT (mutations aimed at its functional groups, up to
    // the pixel data), a signed 13-bit JPEG 2000, a PET slice kept as float64.
    const auto readers = test::source_dir() / "tests" / "data" / "readers";
    for (const auto& [name, path] : {std::pair<const char*, const char*>{"enhanced.dcm", "enhanced-ct/enhanced.dcm"},
                                     {"j2k13.dcm", "signed13-j2k/j1.dcm"},
                                     {"pet.dcm", "pet/pet1.dcm"}}) {
        std::string bytes = file(readers / path);
        const std::size_t pixels = bytes.rfind(std::string("\xe0\x7f\x10\x00", 4));
        seeds.push_back({name, std::move(bytes), pixels == std::string::npos ? 0 : pixels});
    }
    seeds.push_back({"I10.dcm", file(test::dicom_fixtures() / "philips" / "I10"), 0});
    seeds.push_back({"b01.dcm", file(test::dicom_fixtures() / "two-series" / "b01.dcm"), 0});
    return seeds;
}

std::vector<Seed> volume_seeds(const test::fs::path& scratch) {
    const std::string v = voxels();
    test::write_nifti(scratch / "plain.nii", {64, 48, 6}, 4, v);
    const std::string nii = file(scratch / "plain.nii");
    const std::string mha_head = "ObjectType = Image\nNDims = 3\nDimSize = 64 48 6\nElementType = MET_SHORT\n";
    const std::string nrrd_head = "NRRD0004\ntype: short\ndimension: 3\nsizes: 64 48 6\nendian: little\n";
    const std::string z = test::zlib_stream(v);
    return {{"plain.nii", nii, 352},
            {"packed.nii.gz", test::gzip(nii), 64},
            {"sample.nii.gz", file(test::bundled_sample()), 64},
            {"raw.mha", mha_head + "ElementDataFile = LOCAL\n" + v, mha_head.size() + 24},
            {"zipped.mha",
             mha_head + "CompressedData = True\nCompressedDataSize = " + std::to_string(z.size()) +
                 "\nElementDataFile = LOCAL\n" + z,
             mha_head.size() + 60},
            {"raw.nrrd", nrrd_head + "encoding: raw\n\n" + v, nrrd_head.size() + 15},
            {"zipped.nrrd", nrrd_head + "encoding: gzip\n\n" + test::gzip(v), nrrd_head.size() + 16}};
}

std::vector<Seed> image_seeds() {
    cv::Mat grey(96, 128, CV_8UC1), colour(96, 128, CV_8UC3), deep(96, 128, CV_16UC1);
    for (int y = 0; y < 96; ++y)
        for (int x = 0; x < 128; ++x) {
            grey.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>((x * 2 + y) % 256);
            colour.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<std::uint8_t>(x), static_cast<std::uint8_t>(y), 77);
            deep.at<std::uint16_t>(y, x) = static_cast<std::uint16_t>(x * 300 + y);
        }
    auto encode = [](const char* ext, const cv::Mat& m) {
        std::vector<std::uint8_t> buf;
        cv::imencode(ext, m, buf);
        return std::string(buf.begin(), buf.end());
    };
    return {{"grey.png", encode(".png", grey), 64},
            {"deep.png", encode(".png", deep), 64},
            {"photo.jpg", encode(".jpg", colour), 600},
            {"grey.jpg", encode(".jpg", grey), 600},
            {"scan.tif", encode(".tif", deep), 0}};
}

void check_corpus(const std::string& family, const std::vector<Seed>& seeds, unsigned rng_seed) {
    test::TempDir dir;
    const auto root = dir / "corpus";
    Corpus corpus(root, rng_seed);
    for (const Seed& s : seeds) corpus.add(s);
    test::copy_tree(test::bundled_sample().parent_path(), root / "good");
    const auto out = dir / "out";
    const test::LimitedRun o = test::run_lessmore_with_limit(
        {"reduce", root.string(), "-o", out.string(), "-t", "6", "--format", "npy", "--progress", "none"}, dir.path(),
        600);
    const std::string& err = o.err;
    ASSERT_FALSE(o.timed_out) << family << ": the run hung";
    ASSERT_TRUE(o.exit_code == 0 || o.exit_code == 1) << family << ": exit " << o.exit_code << "\n"
                                                      << err.substr(0, 4000);
    const json m = test::read_json(out / "manifest.json");
    std::set<std::string> failed, reduced;
    for (const auto& e : m["errors"]) {
        const std::string path = e["path"];
        EXPECT_EQ(e["message"].get<std::string>().find('\n'), std::string::npos) << path;
        failed.insert(test::fs::relative(path, root).string());
    }
    for (const auto& v : m["volumes"]) reduced.insert(v["id"].get<std::string>());
    EXPECT_EQ(reduced.count("good/example_ct_sm.nii.gz"), 1u)
        << family << ": the good volume beside the damaged ones was not reduced";
    std::size_t noticed = 0, must = 0;
    for (const Case& c : corpus.cases()) {
        const std::string folder = test::fs::path(c.file).parent_path().string();
        const bool listed = failed.count(c.file) || failed.count(folder);
        if (c.must_notice) {
            ++must;
            noticed += listed;
            EXPECT_TRUE(listed) << family << ": " << c.file << " is truncated but was "
                                << (reduced.count(folder) || reduced.count(c.file) ? "reduced" : "not listed");
        }
    }
    std::size_t crashed = 0;
    for (const auto& e : m["errors"])
        crashed += e["message"].get<std::string>().rfind("decoder crashed", 0) == 0 ||
                   e["message"].get<std::string>().rfind("decoder hung", 0) == 0;
    std::cerr << "[ fuzz     ] " << family << ": " << crashed << " decoder crashes contained; " << family << ": "
              << corpus.cases().size() << " cases, " << failed.size() << " refused, " << (reduced.size() - 1)
              << " reduced; " << noticed << " of " << must << " truncations noticed\n";
}

TEST(Fuzz, DicomEveryTransferSyntax) { check_corpus("dicom", dicom_seeds(), 1); }

TEST(Fuzz, DicomHeadersThatDisagreeWithTheirPixels) {
    test::TempDir dir;
    const auto root = dir / "corpus";
    Corpus corpus(root, 4);
    for (const Seed& s : dicom_seeds()) corpus.add_header_mutations(s);
    ASSERT_GT(corpus.cases().size(), 60u);
    test::copy_tree(test::bundled_sample().parent_path(), root / "good");
    const test::LimitedRun o = test::run_lessmore_with_limit(
        {"reduce", root.string(), "-o", (dir / "out").string(), "-t", "6", "--format", "npy", "--progress", "none"},
        dir.path(), 600);
    ASSERT_FALSE(o.timed_out);
    ASSERT_EQ(o.exit_code, 1) << o.err.substr(0, 2000);
    const json m = test::read_json(dir / "out" / "manifest.json");
    std::set<std::string> failed, reduced;
    for (const auto& e : m["errors"]) failed.insert(test::fs::relative(e["path"].get<std::string>(), root).string());
    for (const auto& v : m["volumes"]) reduced.insert(v["id"].get<std::string>());
    EXPECT_EQ(reduced.count("good/example_ct_sm.nii.gz"), 1u);
    for (const Case& c : corpus.cases()) {
        const std::string folder = test::fs::path(c.file).parent_path().string();
        if (c.must_notice) {
            EXPECT_TRUE(failed.count(c.file) || failed.count(folder)) << c.file << " was accepted";
        }
    }
}

TEST(Fuzz, VolumeFiles) {
    test::TempDir scratch;
    check_corpus("volume files", volume_seeds(scratch.path()), 2);
}

TEST(Fuzz, ImageFolders) { check_corpus("images", image_seeds(), 3); }

// Every file a run writes, by its path under OUT, with its bytes (the manifests without
// their timing fields).
std::map<std::string, std::string> outputs_of(const test::fs::path& out) {
    std::map<std::string, std::string> files;
    for (const auto& e : test::fs::recursive_directory_iterator(out)) {
        if (!e.is_regular_file()) continue;
        const std::string rel = test::fs::relative(e.path(), out).string();
        if (rel.rfind(".lessmore", 0) == 0) continue;  // records hold timings too
        files[rel] = rel == "manifest.json" ? test::stable_manifest(test::read_json(e.path())).dump() : file(e.path());
    }
    return files;
}

// No byte a run writes was left in memory by something else: the whole corpus (every
// family's damage, the header mutations, the decode and volume-file fixtures) reduced
// twice, with malloc filling fresh and freed memory with different bytes
// (MALLOC_PERTURB_, inherited by the decoder workers), gives byte-identical slices and
// manifests. A decoder that leaves part of an image unwritten, or a reader that emits
// bytes beyond what it read, makes the two runs differ.
TEST(Fuzz, EveryOutputByteWasDecodedNotLeftInMemory) {
    test::TempDir dir;
    const auto root = dir / "corpus";
    test::TempDir scratch;
    Corpus corpus(root, 5);
    for (const Seed& s : dicom_seeds()) {
        corpus.add(s);
        corpus.add_header_mutations(s);
    }
    for (const Seed& s : volume_seeds(scratch.path())) corpus.add(s);
    for (const Seed& s : image_seeds()) corpus.add(s);
    const auto data = test::source_dir() / "tests" / "data";
    for (const char* fixtures : {"decode", "decode-slices", "volume-files", "readers"})
        test::copy_tree(data / fixtures, root / fixtures);
    test::copy_tree(test::bundled_sample().parent_path(), root / "good");
    std::map<std::string, std::string> first;
    for (const char* perturb : {"85", "170"}) {
        ::setenv("MALLOC_PERTURB_", perturb, 1);
        const auto out = dir / (std::string("out-") + perturb);
        const test::LimitedRun o = test::run_lessmore_with_limit(
            {"reduce", root.string(), "-o", out.string(), "-t", "6", "--format", "both", "--progress", "none"},
            dir.path(), 900);
        ::unsetenv("MALLOC_PERTURB_");
        ASSERT_FALSE(o.timed_out);
        ASSERT_TRUE(o.exit_code == 0 || o.exit_code == 1) << o.err.substr(0, 2000);
        const auto files = outputs_of(out);
        if (first.empty()) {
            first = files;
            EXPECT_GT(first.size(), 100u);
            continue;
        }
        ASSERT_EQ(files.size(), first.size());
        for (const auto& [rel, bytes] : first) {
            const auto it = files.find(rel);
            ASSERT_NE(it, files.end()) << rel << " written in one run only";
            EXPECT_TRUE(it->second == bytes) << rel << " differs between MALLOC_PERTURB_=85 and 170";
        }
    }
}

}  // namespace
}  // namespace lessmore
