// reduce --export-values end to end: what the written slices hold, against the values
// pydicom and nibabel read (tests/golden/make_export_golden.py), read back with OpenCV;
// what is refused; and that decisions never depend on it.
#include "test_support.hpp"

#include <opencv2/imgcodecs.hpp>

#include <map>
#include <regex>

namespace lessmore {
namespace {

using nlohmann::json;

const json& golden() {
    static const json g = test::read_json(test::source_dir() / "tests/golden/export_golden.json");
    return g;
}

// The golden volume whose input is `input` (a path relative to the repository).
const json& golden_volume(const std::string& input) {
    for (const json& v : golden()["volumes"])
        if (v["input"] == input) return v;
    throw std::runtime_error("no golden volume " + input);
}

std::string repo_path(const std::string& rel) { return (test::source_dir() / rel).string(); }

// A .npy file's dtype (descr), shape and data bytes.
struct Npy {
    std::string descr;
    std::string shape;
    std::string data;
};

Npy read_npy(const test::fs::path& p) {
    const std::string bytes = test::read_file(p);
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw std::runtime_error("not npy: " + p.string());
    const std::size_t len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    const std::string header = bytes.substr(10, len);
    std::smatch m;
    Npy out;
    if (std::regex_search(header, m, std::regex("'descr': '([^']*)'"))) out.descr = m[1];
    if (std::regex_search(header, m, std::regex("'shape': \\(([^)]*)\\)"))) out.shape = m[1];
    out.data = bytes.substr(10 + len);
    return out;
}

std::string sha_of(const std::string& bytes) {
    return test::sha256_hex(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

std::string sha_of(const cv::Mat& m) { return test::sha256_hex(m.data, m.total() * m.elemSize()); }

// The golden slice of a manifest slice: DICOM by file name, NIfTI by index.
const json& golden_slice(const json& gv, const json& s) {
    const std::string key =
        s["file"].is_string() ? s["file"].get<std::string>() : std::to_string(s["index"].get<int>());
    return gv["slices"].at(key);
}

struct ReduceRun {
    test::RunResult result;
    json manifest;
};

ReduceRun reduce(const test::fs::path& out, const std::vector<std::string>& inputs,
                 const std::vector<std::string>& args) {
    std::vector<std::string> a = {"reduce"};
    for (const std::string& i : inputs) a.push_back(repo_path(i));
    a.insert(a.end(), {"-o", out.string(), "-q", "-j", "2"});
    a.insert(a.end(), args.begin(), args.end());
    ReduceRun r;
    r.result = test::run_lessmore(a);
    if (test::fs::exists(out / "manifest.json")) r.manifest = test::read_json(out / "manifest.json");
    return r;
}

// Each volume of the manifest with the golden volume of its input.
std::map<std::string, const json*> by_id(const std::vector<std::string>& inputs) {
    std::map<std::string, const json*> out;
    for (const std::string& i : inputs) out[test::fs::path(i).filename().string()] = &golden_volume(i);
    return out;
}

const std::vector<std::string> k_hu_inputs = {"tests/data/ct/pancreas-ct-cb-001", "tests/data/ct/ge-head-tilt",
                                              "data/sample/example_ct_sm.nii.gz", "tests/data/nifti/dcm2niix.nii.gz"};

// hu: 16-bit PNG of value - png_offset, the offset the header allows (-1000 for 12-bit CT
// with intercept -1000, -32768 for 16-bit signed, -33792 for int16 NIfTI with scl_inter
// -1024, kept as int32); NPY the values in the type lessmore keeps. Every slice (everyn
// streams the volumes slab by slab).
TEST(CliExport, HuIsSixteenBitValueMinusTheHeadersOffset) {
    test::TempDir dir;
    const ReduceRun run = reduce(dir / "o", k_hu_inputs,
                                 {"--method", "everyn", "--every", "1", "--format", "both", "--export-values", "hu"});
    ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
    EXPECT_EQ(run.manifest["parameters"]["export_values"], "hu");
    const auto golden_of = by_id(k_hu_inputs);
    std::size_t checked = 0;
    for (const json& v : run.manifest["volumes"]) {
        const json& gv = *golden_of.at(v["id"]);
        ASSERT_TRUE(gv["png_offset"].is_number_integer());
        EXPECT_EQ(v["png_offset"], gv["png_offset"]) << v["id"];
        for (const json& s : v["slices"]) {
            const json& g = golden_slice(gv, s);
            const cv::Mat png = cv::imread((dir / "o" / s["output"].get<std::string>()).string(), cv::IMREAD_UNCHANGED);
            ASSERT_EQ(png.type(), CV_16UC1) << s["output"];
            EXPECT_EQ(sha_of(png), g["hu16_sha256"]) << v["id"] << " slice " << s["index"];
            const Npy npy = read_npy(dir / "o" / s["output_npy"].get<std::string>());
            EXPECT_EQ(npy.descr, gv["dtype"]) << v["id"];
            EXPECT_EQ(npy.shape, std::to_string(png.rows) + ", " + std::to_string(png.cols));
            EXPECT_EQ(sha_of(npy.data), g["values_sha256"]) << v["id"] << " slice " << s["index"];
            ++checked;
        }
    }
    EXPECT_EQ(checked, 16u + 28u + 30u + 5u);
}

// A value model range PNG cannot hold fails that volume, with the reason, before it writes
// anything; the others are written. NPY holds any volume.
TEST(CliExport, HuPngRefusesFloatAndWiderThanSixteenBits) {
    test::TempDir dir;
    const std::vector<std::string> inputs = {"tests/data/nifti/float32.nii", "tests/data/nifti/type_int32.nii",
                                             "tests/data/dicom/padded", "tests/data/ct/pancreas-ct-cb-001"};
    const std::vector<std::string> args = {"--method", "everyn", "--every", "1", "--export-values", "hu"};
    std::vector<std::string> png = args;
    png.insert(png.end(), {"--format", "png"});
    const ReduceRun run = reduce(dir / "png", inputs, png);
    EXPECT_EQ(run.result.exit_code, 1) << run.result.err;
    std::map<std::string, std::string> errors;
    for (const json& e : run.manifest["errors"]) errors[e["path"]] = e["message"];
    ASSERT_EQ(errors.size(), 3u) << run.manifest["errors"].dump();
    EXPECT_EQ(errors.at(repo_path("tests/data/nifti/float32.nii")),
              "--export-values hu: a float32 volume cannot be written as 16-bit PNG (its values need not be whole "
              "numbers; use --format npy, or --export-values window:C,W)");
    EXPECT_EQ(errors.at(repo_path("tests/data/nifti/type_int32.nii")),
              "--export-values hu: the header allows values from -2147483648 to 2147483647, more than a 16-bit PNG "
              "holds (use --format npy, or --export-values window:C,W)");
    // padded: one file's slope 2 and intercept -1024 widen the series to -66560..64510.
    const json& padded = golden_volume("tests/data/dicom/padded");
    EXPECT_TRUE(padded["png_offset"].is_null());
    EXPECT_NE(errors.at(repo_path("tests/data/dicom/padded"))
                  .find("from " + std::to_string(padded["range"][0].get<int>()) + " to " +
                        std::to_string(padded["range"][1].get<int>()) + ", more than a 16-bit PNG holds"),
              std::string::npos);
    for (const char* refused : {"float32.nii", "type_int32.nii", "padded"})
        EXPECT_FALSE(test::fs::exists(dir / "png" / "slices" / refused)) << refused;
    // On stderr: one line each, naming the volume and the option.
    for (const auto& [path, message] : errors) {
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
        EXPECT_NE(run.result.err.find("lessmore: error: " + path + ": " + message + "\n"), std::string::npos)
            << run.result.err;
    }
    ASSERT_EQ(run.manifest["volumes"].size(), 1u);
    EXPECT_EQ(run.manifest["volumes"][0]["png_offset"], -1000);

    std::vector<std::string> npy = args;
    npy.insert(npy.end(), {"--format", "npy"});
    const ReduceRun all = reduce(dir / "npy", inputs, npy);
    EXPECT_EQ(all.result.exit_code, 0) << all.result.err;
    ASSERT_EQ(all.manifest["volumes"].size(), 4u);
    for (const json& v : all.manifest["volumes"]) EXPECT_FALSE(v.contains("png_offset")) << v["id"];
}

// window:C,W: the PNG in 8 bits rounded half to even, the NPY float32 in [0, 1]; also a
// float volume. -f 0.5 (pairs) writes from the whole volume rather than slab by slab.
TEST(CliExport, WindowIsEightBitPngAndFloat32Npy) {
    test::TempDir dir;
    std::vector<std::string> inputs = k_hu_inputs;
    inputs.push_back("tests/data/nifti/float32.nii");
    const ReduceRun run =
        reduce(dir / "o", inputs, {"-f", "0.5", "--format", "both", "--export-values", "window:-600,1500"});
    ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
    EXPECT_EQ(run.manifest["parameters"]["export_values"], "window:-600,1500");
    EXPECT_EQ(golden()["window"], json({{"center", -600.0}, {"width", 1500.0}}));
    const auto golden_of = by_id(inputs);
    std::size_t checked = 0;
    for (const json& v : run.manifest["volumes"]) {
        const json& gv = *golden_of.at(v["id"]);
        EXPECT_FALSE(v.contains("png_offset"));
        for (const json& s : v["slices"]) {
            if (!s["kept"]) continue;
            const json& g = golden_slice(gv, s);
            const cv::Mat png = cv::imread((dir / "o" / s["output"].get<std::string>()).string(), cv::IMREAD_UNCHANGED);
            ASSERT_EQ(png.type(), CV_8UC1);
            EXPECT_EQ(sha_of(png), g["window8_sha256"]) << v["id"] << " slice " << s["index"];
            const Npy npy = read_npy(dir / "o" / s["output_npy"].get<std::string>());
            EXPECT_EQ(npy.descr, "<f4");
            EXPECT_EQ(sha_of(npy.data), g["window_f32_sha256"]) << v["id"] << " slice " << s["index"];
            ++checked;
        }
    }
    EXPECT_GE(checked, (16u + 28u + 30u + 5u + 5u) / 2);
}

// minmax: the paper's per-slice min-max PNG whatever --intensity decides with; NPY the values.
// Without --export-values (intensity), the PNG is the decision's image and the NPY the values,
// as before --export-values existed.
TEST(CliExport, MinmaxAndTheDefaultFollowTheirDefinitions) {
    test::TempDir dir;
    const std::vector<std::string> inputs = {"tests/data/ct/pancreas-ct-cb-001", "data/sample/example_ct_sm.nii.gz"};
    const auto golden_of = by_id(inputs);
    for (const bool explicit_minmax : {true, false}) {
        const auto out = dir / (explicit_minmax ? "minmax" : "default");
        std::vector<std::string> args = {"-t", "0", "--format", "both", "--intensity", "window:-600,1500"};
        if (explicit_minmax) args.insert(args.end(), {"--export-values", "minmax"});
        const ReduceRun run = reduce(out, inputs, args);
        ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
        EXPECT_EQ(run.manifest["parameters"]["export_values"], explicit_minmax ? "minmax" : "intensity");
        std::size_t checked = 0;
        for (const json& v : run.manifest["volumes"]) {
            const json& gv = *golden_of.at(v["id"]);
            for (const json& s : v["slices"]) {
                if (!s["kept"]) continue;
                const json& g = golden_slice(gv, s);
                const cv::Mat png = cv::imread((out / s["output"].get<std::string>()).string(), cv::IMREAD_UNCHANGED);
                ASSERT_EQ(png.type(), CV_8UC1);
                EXPECT_EQ(sha_of(png), g[explicit_minmax ? "minmax8_sha256" : "window8_sha256"]) << s["output"];
                EXPECT_EQ(sha_of(read_npy(out / s["output_npy"].get<std::string>()).data), g["values_sha256"]);
                ++checked;
            }
        }
        EXPECT_GT(checked, 20u);
    }
    // With the default --intensity minmax, intensity writes exactly minmax and is recorded so.
    const ReduceRun plain = reduce(dir / "plain", {"data/sample/example_ct_sm.nii.gz"}, {"-t", "6"});
    ASSERT_EQ(plain.result.exit_code, 0) << plain.result.err;
    EXPECT_EQ(plain.manifest["parameters"]["export_values"], "minmax");
}

// Decisions never depend on what is written: every export mode keeps the same slices, for
// HASH and SSIM, whatever --intensity decides with.
TEST(CliExport, DecisionsNeverDependOnExportValues) {
    test::TempDir dir;
    const std::vector<std::string> inputs = {"tests/data/ct/pancreas-ct-cb-001", "data/sample/example_ct_sm.nii.gz"};
    const std::vector<std::vector<std::string>> methods = {{"-t", "6"}, {"--method", "ssim", "-t", "0.8"}};
    for (std::size_t m = 0; m < methods.size(); ++m) {
        for (const char* intensity : {"minmax", "window:-600,1500"}) {
            const std::string base = "m" + std::to_string(m) + "_" + std::to_string(intensity[0] == 'w');
            std::vector<std::string> args = methods[m];
            args.insert(args.end(), {"--intensity", intensity, "--format", "both"});
            const ReduceRun ref = reduce(dir / base, inputs, args);
            ASSERT_EQ(ref.result.exit_code, 0) << ref.result.err;
            std::size_t kept = 0, slices = 0;
            for (const json& v : ref.manifest["volumes"]) {
                kept += v["kept"].get<std::size_t>();
                slices += v["slices"].size();
            }
            ASSERT_GT(kept, 0u);
            ASSERT_LT(kept, slices) << "the run must remove slices to prove anything";
            int k = 0;
            for (const char* mode : {"minmax", "hu", "window:40,400", "intensity"}) {
                const auto out = dir / (base + "_" + std::to_string(k++));
                std::vector<std::string> a = args;
                a.insert(a.end(), {"--export-values", mode});
                const ReduceRun r = reduce(out, inputs, a);
                ASSERT_EQ(r.result.exit_code, 0) << r.result.err;
                const auto c = test::run_lessmore({"compare", (dir / base).string(), out.string()});
                EXPECT_EQ(c.exit_code, 0) << base << " vs --export-values " << mode << ": " << c.out << c.err;
                // The per-slice metric text (HASH's digest) is the same too.
                for (std::size_t v = 0; v < ref.manifest["volumes"].size(); ++v)
                    for (std::size_t s = 0; s < ref.manifest["volumes"][v]["slices"].size(); ++s)
                        EXPECT_EQ(r.manifest["volumes"][v]["slices"][s]["hash"],
                                  ref.manifest["volumes"][v]["slices"][s]["hash"]);
            }
        }
    }
}

// The export mode is a recorded parameter: --resume and merge refuse a different one and
// accept the same files under another spelling (intensity with --intensity minmax is minmax).
TEST(CliExport, ResumeAndMergeCompareExportValues) {
    test::TempDir dir;
    const std::vector<std::string> inputs = {"tests/data/ct/pancreas-ct-cb-001", "data/sample/example_ct_sm.nii.gz"};
    ASSERT_EQ(reduce(dir / "a", inputs, {"-t", "6", "--export-values", "hu"}).result.exit_code, 0);
    const ReduceRun other = reduce(dir / "a", inputs, {"-t", "6", "--export-values", "window:40,400", "--resume"});
    EXPECT_EQ(other.result.exit_code, 2);
    EXPECT_NE(other.result.err.find("parameters.export_values: \"hu\" vs \"window:40,400\""), std::string::npos)
        << other.result.err;

    ASSERT_EQ(reduce(dir / "b", inputs, {"-t", "6", "--export-values", "minmax"}).result.exit_code, 0);
    const ReduceRun same = reduce(dir / "b", inputs, {"-t", "6", "--resume"});
    EXPECT_EQ(same.result.exit_code, 0) << same.result.err;

    const ReduceRun s1 = reduce(dir / "s1", inputs, {"-t", "6", "--shard", "1/2", "--export-values", "hu"});
    const ReduceRun s2 = reduce(dir / "s2", inputs, {"-t", "6", "--shard", "2/2", "--export-values", "minmax"});
    ASSERT_EQ(s1.result.exit_code, 0) << s1.result.err;
    ASSERT_EQ(s2.result.exit_code, 0) << s2.result.err;
    const auto merged =
        test::run_lessmore({"merge", (dir / "s1").string(), (dir / "s2").string(), "-o", (dir / "m").string()});
    EXPECT_EQ(merged.exit_code, 2);
    EXPECT_NE(merged.err.find("export_values"), std::string::npos) << merged.err;
}

TEST(CliExport, BadExportValuesAreUsageErrors) {
    test::TempDir dir;
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--export-values", "window:40,0"}, "--export-values: 'window:40,0' is not window:CENTER,WIDTH"},
        {{"--export-values", "window:40"}, "--export-values: 'window:40' is not window:CENTER,WIDTH"},
        {{"--export-values", "HU"}, "--export-values: unknown mode 'HU' (use intensity, minmax, window:C,W or hu)"},
        {{"--export-values", "none"}, "--export-values: unknown mode 'none'"},
        {{"--export-values", "hu", "--format", "none"}, "--export-values: nothing is written with --format none"},
    };
    for (const auto& [args, message] : cases) {
        std::vector<std::string> a = {"-t", "6"};
        a.insert(a.end(), args.begin(), args.end());
        const ReduceRun r = reduce(dir / "o", {"data/sample/example_ct_sm.nii.gz"}, a);
        EXPECT_EQ(r.result.exit_code, 2) << args.back();
        EXPECT_NE(r.result.err.find(message), std::string::npos) << r.result.err;
        EXPECT_FALSE(test::fs::exists(dir / "o")) << args.back();
    }
}

}  // namespace
}  // namespace lessmore
