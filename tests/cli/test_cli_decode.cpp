// Compressed pixel data end to end: files whose codestream disagrees with their header,
// JPEG data cut short, colour and odd-length data fail their own volume with a reason while
// the good volumes beside them are reduced; and every good compressed file gives the same
// bytes whatever malloc leaves in fresh memory (no byte is emitted that was not decoded).
#include "test_support.hpp"

#include <cstdlib>
#include <map>

namespace lessmore {
namespace {

using nlohmann::json;

const test::fs::path k_data = test::source_dir() / "tests" / "data";

std::map<std::string, std::string> errors_by_path(const json& manifest) {
    std::map<std::string, std::string> out;
    for (const json& e : manifest["errors"]) out[e["path"].get<std::string>()] = e["message"].get<std::string>();
    return out;
}

std::set<std::string> volume_ids(const json& manifest) {
    std::set<std::string> out;
    for (const json& v : manifest["volumes"]) out.insert(v["id"].get<std::string>());
    return out;
}

TEST(CliDecode, CompressedFilesThatDisagreeWithTheirHeaderFailTheirVolumeOnly) {
    test::TempDir dir;
    const json g = test::read_json(k_data / "decode_golden.json");
    const auto r =
        test::run_lessmore({"reduce", (k_data / "decode").string(), "-o", (dir / "out").string(), "-t", "6", "-q"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const json m = test::read_json(dir / "out" / "manifest.json");
    std::set<std::string> good;
    for (const json& v : g["volumes"]) good.insert(v["volume"].get<std::string>());
    EXPECT_EQ(volume_ids(m), good);
    const auto errors = errors_by_path(m);
    EXPECT_EQ(errors.size(), g["refused"].size());
    for (const json& bad : g["refused"]) {
        const std::string path =
            (k_data / "decode" / bad["volume"].get<std::string>() / bad["file"].get<std::string>()).string();
        SCOPED_TRACE(path);
        ASSERT_EQ(errors.count(path), 1u);
        for (const json& must : bad["must_name"])
            EXPECT_NE(errors.at(path).find(must.get<std::string>()), std::string::npos) << errors.at(path);
        EXPECT_NE(r.err.find(path), std::string::npos);  // reported on stderr too, one line each
    }
}

TEST(CliDecode, DamagedJpegSlicesFailTheirFolderOnly) {
    test::TempDir dir;
    const auto r = test::run_lessmore(
        {"reduce", (k_data / "decode-slices").string(), "-o", (dir / "out").string(), "-t", "6", "-q"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const json m = test::read_json(dir / "out" / "manifest.json");
    EXPECT_EQ(volume_ids(m), (std::set<std::string>{"good"}));
    const auto errors = errors_by_path(m);
    for (const char* bad : {"cut", "zero-tail", "cut-eoi"}) {
        const std::string path = (k_data / "decode-slices" / bad / "x.jpg").string();
        ASSERT_EQ(errors.count(path), 1u) << path;
        EXPECT_NE(errors.at(path).find("JPEG"), std::string::npos) << errors.at(path);
    }
}

// Every good compressed file of the corpus, reduced with --format npy under two
// MALLOC_PERTURB_ values (glibc fills fresh allocations with that byte): a value made from
// memory that no decoder wrote would differ between the runs.
TEST(CliDecode, CompressedFilesGiveTheSameBytesWhateverMallocLeaves) {
    const auto quirks = k_data / "dicom-quirks";
    std::vector<std::string> inputs;
    for (const char* name : {"wg04-ct1/CT1_RLE", "wg04-ct1/CT1_JPLL", "wg04-ct1/CT1_JLSL", "wg04-ct1/CT1_JLSN",
                             "wg04-ct1/CT1_J2KR", "wg04-ct1/CT1_J2KI", "pydicom-data/693_J2KR.dcm",
                             "pydicom-data/bad_sequence.dcm", "pydicom-data/explicit_VR-UN.dcm"}) {
        inputs.push_back((quirks / name).string());
    }
    inputs.push_back((k_data / "readers" / "signed13-j2k").string());
    inputs.push_back((k_data / "decode" / "good").string());
    inputs.push_back((k_data / "decode" / "good-baseline").string());
    test::TempDir dir;
    const char* old = std::getenv("MALLOC_PERTURB_");
    const std::string saved = old ? old : "";
    std::map<std::string, std::map<std::string, std::string>> outputs;  // perturb -> file -> bytes
    for (const char* perturb : {"0", "165"}) {
        ::setenv("MALLOC_PERTURB_", perturb, 1);
        const auto out = dir / (std::string("out") + perturb);
        std::vector<std::string> args{"reduce"};
        args.insert(args.end(), inputs.begin(), inputs.end());
        for (const char* a : {"-o", "", "-t", "6", "--format", "npy", "-q"}) args.push_back(a);
        args[args.size() - 6] = out.string();
        const auto r = test::run_lessmore(args);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(test::read_json(out / "manifest.json")["volumes"].size(), inputs.size());
        for (const std::string& f : test::files_under(out))
            if (test::fs::path(f).extension() == ".npy") outputs[perturb][f] = test::read_file(out / f);
    }
    if (old) {
        ::setenv("MALLOC_PERTURB_", saved.c_str(), 1);
    } else {
        ::unsetenv("MALLOC_PERTURB_");
    }
    EXPECT_GE(outputs["0"].size(), inputs.size());
    EXPECT_EQ(outputs["0"].size(), outputs["165"].size());
    for (const auto& [file, bytes] : outputs["0"]) {
        ASSERT_EQ(outputs["165"].count(file), 1u) << file;
        EXPECT_TRUE(bytes == outputs["165"].at(file)) << file << " differs between MALLOC_PERTURB_ 0 and 165";
    }
}

}  // namespace
}  // namespace lessmore
