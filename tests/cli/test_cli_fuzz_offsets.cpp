// The mutation corpus's volume-file classes (beside tests/cli/test_cli_fuzz.cpp): every
// way a NRRD or MetaImage header places its voxels -- byte skip (positive, -1, -N), line
// skip, HeaderSize (0, -1, inside the header, past the data), detached data of every
// length around the size needed, gzip and zlib data a byte short or long, sizes named
// wrongly -- against data of every length around what the header needs, and files of 3 GB
// and 50 GB (sparse) with every volume extension. For each case the test knows from the
// format's rules which bytes the header names: when the file holds them all, the volume
// must be reduced with exactly those bytes as its values; when it does not, the file must
// be listed in the manifest's errors. The whole corpus runs in one reduce under a time
// limit, so a hang fails the test rather than stalling it.
#include "test_support.hpp"

#include <optional>
#include <set>

namespace lessmore {
namespace {

using nlohmann::json;

// Bytes that look like nothing in particular: a prefix, a tail or wrong data.
std::string filler(std::size_t n, char seed) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + 31 * i % 251);
    return s;
}

constexpr std::size_t k_w = 32, k_h = 24, k_z = 4, k_need = k_w * k_h * k_z * 2;  // int16

std::string voxels() {
    std::string v;
    for (std::size_t i = 0; i < k_need / 2; ++i) {
        const auto value = static_cast<std::int16_t>(static_cast<int>(i * 37 % 3000) - 1024);
        v.append(reinterpret_cast<const char*>(&value), 2);
    }
    return v;
}

const std::string k_nrrd = "NRRD0004\ntype: short\ndimension: 3\nsizes: 32 24 4\nendian: little\n";
const std::string k_mha = "ObjectType = Image\nNDims = 3\nDimSize = 32 24 4\nElementType = MET_SHORT\n";

struct Case {
    std::string name;                                            // its folder in the corpus, and the volume file's name
    std::string bytes;                                           // the volume file
    std::vector<std::pair<std::string, std::string>> side = {};  // data files beside it
    std::optional<std::string> expect = {};  // the voxels the header names, when the file holds them
    std::uint64_t sparse_to = 0;             // extend the volume file (with a hole) to this size
};

class Cases {
public:
    void add(Case c) { m_cases.push_back(std::move(c)); }
    const std::vector<Case>& all() const { return m_cases; }

private:
    std::vector<Case> m_cases;
};

// NRRD raw: data = prefix + voxels + tail, cut short by `cut`; the header's byte skip
// names [skip, skip + need) of it, or with -N the need bytes ending N - 1 before its end.
void nrrd_raw(Cases& cases, const std::string& v) {
    int n = 0;
    for (const long skip : {0L, 1L, 9L, -1L, -2L, -9L, 4000L}) {
        for (const std::size_t prefix : {std::size_t{0}, std::size_t{9}}) {
            for (const std::size_t tail : {std::size_t{0}, std::size_t{8}}) {
                for (const std::size_t cut :
                     {std::size_t{0}, std::size_t{1}, std::size_t{4}, std::size_t{9}, k_need / 2}) {
                    std::string data = filler(prefix, 'p') + v + filler(tail, 't');
                    data.resize(data.size() - std::min(cut, data.size()));
                    std::optional<std::string> expect;
                    const std::size_t after = skip < 0 ? static_cast<std::size_t>(-skip - 1) : 0;
                    if (skip >= 0 && data.size() >= static_cast<std::size_t>(skip) + k_need) {
                        expect = data.substr(static_cast<std::size_t>(skip), k_need);
                    } else if (skip < 0 && data.size() >= k_need + after) {
                        expect = data.substr(data.size() - after - k_need, k_need);
                    }
                    const std::string head =
                        k_nrrd + "encoding: raw\n" + (skip ? "byte skip: " + std::to_string(skip) + "\n" : "");
                    cases.add({"nrrd-raw-" + std::to_string(n++) + ".nrrd", head + "\n" + data, {}, expect});
                    // The same with the data detached, two text lines skipped first.
                    const std::string name = "nrrd-det-" + std::to_string(n) + ".nhdr";
                    cases.add({name,
                               head + "data file: " + name + ".dat\nline skip: 2\n",
                               {{name + ".dat", "line one\r\nline two\n" + data}},
                               expect});
                }
            }
        }
    }
}

// NRRD gzip: the stream must inflate to exactly byte skip + need.
void nrrd_gzip(Cases& cases, const std::string& v) {
    int n = 0;
    for (const std::size_t skip : {std::size_t{0}, std::size_t{5}}) {
        for (const long delta : {-4L, -1L, 0L, 1L, 6L}) {
            std::string content = filler(skip, 's') + v + filler(8, 'e');
            content.resize(static_cast<std::size_t>(static_cast<long>(skip + k_need) + delta));
            const std::optional<std::string> expect = delta == 0 ? std::optional<std::string>(v) : std::nullopt;
            const std::string head =
                k_nrrd + "encoding: gzip\n" + (skip ? "byte skip: " + std::to_string(skip) + "\n" : "");
            cases.add({"nrrd-gz-" + std::to_string(n++) + ".nrrd", head + "\n" + test::gzip(content), {}, expect});
            const std::string g = test::gzip(content);  // cut inside the stream: never enough
            cases.add({"nrrd-gzcut-" + std::to_string(n++) + ".nrrd", head + "\n" + g.substr(0, g.size() - 10)});
        }
    }
    cases.add({"nrrd-zlib-named-gzip.nrrd", k_nrrd + "encoding: gzip\n\n" + test::zlib_stream(v)});
    cases.add({"nrrd-gzip-minus1.nrrd", k_nrrd + "encoding: gzip\nbyte skip: -1\n\n" + test::gzip(v)});
}

// MetaImage raw: HeaderSize 0 (after the header), -1 (the file's last bytes, never the
// header's), or an absolute offset (inside the header: refused).
void metaimage_raw(Cases& cases, const std::string& v) {
    int n = 0;
    for (const long header_size : {0L, -1L, 1L, 5000L, -7L}) {
        for (const std::size_t prefix : {std::size_t{0}, std::size_t{16}}) {
            for (const std::size_t cut : {std::size_t{0}, std::size_t{2}, std::size_t{17}}) {
                std::string data = filler(prefix, 'q') + v;
                data.resize(data.size() - cut);
                // LOCAL: HeaderSize 1 is inside the header; detached: byte 1 of the data file.
                const std::string field = header_size ? "HeaderSize = " + std::to_string(header_size) + "\n" : "";
                const std::string head = k_mha + field + "ElementDataFile = LOCAL\n";
                auto expected = [&](const std::string& file, std::size_t start) -> std::optional<std::string> {
                    if (header_size < -1) return std::nullopt;
                    if (header_size == -1)
                        return file.size() - start >= k_need
                                   ? std::optional<std::string>(file.substr(file.size() - k_need))
                                   : std::nullopt;
                    const std::size_t at = header_size > 0 ? static_cast<std::size_t>(header_size) : start;
                    if (at < start || file.size() < at + k_need) return std::nullopt;
                    return file.substr(at, k_need);
                };
                const std::string local = head + data;
                cases.add({"mha-raw-" + std::to_string(n++) + ".mha", local, {}, expected(local, head.size())});
                const std::string name = "mhd-" + std::to_string(n) + ".mhd";
                cases.add({name,
                           k_mha + field + "ElementDataFile = " + name + ".raw\n",
                           {{name + ".raw", data}},
                           expected(data, 0)});
            }
        }
    }
}

// MetaImage CompressedData: one stream within CompressedDataSize (LOCAL needs it) inflating
// to exactly the voxels.
void metaimage_zlib(Cases& cases, const std::string& v) {
    int n = 0;
    for (const long delta : {-3L, 0L, 2L}) {
        const std::string z =
            test::zlib_stream(v.substr(0, static_cast<std::size_t>(static_cast<long>(k_need) + std::min(delta, 0L))) +
                              filler(static_cast<std::size_t>(std::max(delta, 0L)), 'z'));
        const std::optional<std::string> expect = delta == 0 ? std::optional<std::string>(v) : std::nullopt;
        for (const long size_delta : {0L, -5L, 7L}) {
            const std::size_t size = static_cast<std::size_t>(static_cast<long>(z.size()) + size_delta);
            const std::string head = k_mha + "CompressedData = True\nCompressedDataSize = " + std::to_string(size) +
                                     "\nElementDataFile = LOCAL\n";
            cases.add({"mha-z-" + std::to_string(n++) + ".mha", head + z, {}, size_delta == 0 ? expect : std::nullopt});
        }
        cases.add({"mha-znosize-" + std::to_string(n++) + ".mha",
                   k_mha + "CompressedData = True\nElementDataFile = LOCAL\n" + z});
        const std::string name = "mhd-z-" + std::to_string(n++) + ".mhd";
        cases.add({name,
                   k_mha + "CompressedData = True\nElementDataFile = " + name + ".zraw\n",
                   {{name + ".zraw", z}},
                   expect});
    }
}

// 3 GB and 50 GB of nothing (a hole) with every volume extension (and the DICOM ones, which
// are read whole only once their first bytes look like DICOM); valid headers over a
// 50 GB hole read only what they name.
void huge_files(Cases& cases, const std::string& v) {
    for (const char* ext : {".nrrd", ".nhdr", ".mha", ".mhd", ".nii", ".nii.gz", ".hdr", ".hdr.gz", ".dcm", ".ima"}) {
        for (const std::uint64_t gb : {3, 50})
            cases.add({"zeros" + std::to_string(gb) + ext, "", {}, std::nullopt, gb << 30});
    }
    const std::uint64_t big = std::uint64_t{50} << 30;
    cases.add({"tail.nrrd", k_nrrd + "encoding: raw\n\n" + v, {}, v, big});
    cases.add(
        {"tail-minus1.nrrd", k_nrrd + "encoding: raw\nbyte skip: -1\n\n" + v, {}, std::string(k_need, '\0'), big});
    cases.add({"tail-minus1.mha",
               k_mha + "HeaderSize = -1\nElementDataFile = LOCAL\n" + v,
               {},
               std::string(k_need, '\0'),
               big});
    cases.add({"hole-gzip.nrrd", k_nrrd + "encoding: gzip\n\n", {}, std::nullopt, big});
    cases.add({"hole-lines.nrrd", k_nrrd + "encoding: raw\nline skip: 1\n\n", {}, std::nullopt, big});
    cases.add({"hole-header.nrrd", k_nrrd, {}, std::nullopt, big});
    cases.add({"hole-header.mha", k_mha, {}, std::nullopt, big});
}

// The kept slices' .npy files of a volume, in slice order, without their 128-byte headers.
std::string npy_values(const json& volume, const test::fs::path& out) {
    std::string values;
    for (const json& s : volume["slices"]) {
        const std::string npy = test::read_file(out / s["output"].get<std::string>());
        values += npy.substr(128);
    }
    return values;
}

TEST(Fuzz, VolumeFileOffsetsAndHugeFiles) {
    const std::string v = voxels();
    Cases cases;
    nrrd_raw(cases, v);
    nrrd_gzip(cases, v);
    metaimage_raw(cases, v);
    metaimage_zlib(cases, v);
    huge_files(cases, v);
    test::TempDir dir;
    const auto root = dir / "corpus";
    for (const Case& c : cases.all()) {
        const auto folder = root / c.name;
        test::write_file(folder / c.name, c.bytes);
        if (c.sparse_to) test::fs::resize_file(folder / c.name, c.sparse_to);
        for (const auto& [name, bytes] : c.side) test::write_file(folder / name, bytes);
    }
    test::copy_tree(test::bundled_sample().parent_path(), root / "good");
    const auto out = dir / "out";
    // Every slice kept, as stored (NPY): the values read are compared below.
    const test::LimitedRun r =
        test::run_lessmore_with_limit({"reduce", root.string(), "-o", out.string(), "--method", "everyn", "--every",
                                       "1", "--format", "npy", "--progress", "none"},
                                      dir.path(), 600);
    ASSERT_FALSE(r.timed_out) << "the run hung";
    ASSERT_EQ(r.exit_code, 1) << r.err.substr(0, 4000);
    // Nothing read whole: the largest process stayed far below the 3 GB of the smallest huge file.
    EXPECT_LT(r.max_rss_kb, 1L << 20) << "peak RSS " << r.max_rss_kb << " KB";
    const json m = test::read_json(out / "manifest.json");
    std::map<std::string, std::string> failed;
    for (const json& e : m["errors"]) {
        EXPECT_EQ(e["message"].get<std::string>().find('\n'), std::string::npos) << e.dump();
        failed[test::fs::relative(e["path"].get<std::string>(), root).string()] = e["message"];
    }
    std::map<std::string, const json*> reduced;
    for (const json& vol : m["volumes"]) reduced[vol["id"].get<std::string>()] = &vol;
    EXPECT_EQ(reduced.count("good/example_ct_sm.nii.gz"), 1u);
    std::size_t read = 0, refused = 0;
    for (const Case& c : cases.all()) {
        const std::string id = c.name + "/" + c.name;
        SCOPED_TRACE(id);
        if (c.expect) {
            ++read;
            ASSERT_EQ(reduced.count(id), 1u) << (failed.count(id) ? failed[id] : "neither reduced nor failed");
            EXPECT_EQ(npy_values(*reduced[id], out), *c.expect) << "values other than the bytes the header names";
        } else {
            ++refused;
            EXPECT_EQ(failed.count(id), 1u)
                << (reduced.count(id) ? "reduced although the file cannot supply its voxels" : "not listed");
        }
    }
    std::cerr << "[ fuzz     ] volume offsets: " << cases.all().size() << " cases, " << read << " read exactly, "
              << refused << " refused; peak RSS " << r.max_rss_kb / 1024 << " MB\n";
}

}  // namespace
}  // namespace lessmore
