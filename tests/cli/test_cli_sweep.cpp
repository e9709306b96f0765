// sweep: equal to separate reduce runs for every method and strategy; its table, CSV and plot.
#include "test_support.hpp"

#include <opencv2/imgcodecs.hpp>

#include <map>

namespace lessmore {
namespace {

using nlohmann::json;

std::map<std::string, std::size_t> kept_per_volume(const test::fs::path& manifest) {
    std::map<std::string, std::size_t> out;
    const json m = test::read_json(manifest);  // named: a loop over a temporary's member would dangle
    for (const auto& v : m["volumes"]) out[v["id"]] = v["kept"];
    return out;
}

struct Case {
    std::string method;
    std::vector<std::string> thresholds;  // as reduce takes them
    std::string strategy;
};

TEST(CliSweep, EqualsSeparateReduceRunsForEveryMethodAndStrategy) {
    test::TempDir dir;
    test::copy_tree(test::bundled_sample().parent_path(), dir / "data" / "sample");
    test::copy_tree(test::dicom_fixtures() / "philips", dir / "data" / "philips");
    const std::vector<Case> cases = {
        {"hash", {"3", "6", "10"}, "leader"},    {"hash", {"3", "6", "10"}, "pairs"},
        {"ssim", {"0.8", "0.9"}, "leader"},      {"ssim", {"0.8", "0.9"}, "pairs"},
        {"mi", {"1.3", "1.5"}, "leader"},        {"mi", {"1.3", "1.5"}, "pairs"},
        {"deepnet", {"0.93", "0.97"}, "leader"}, {"deepnet", {"0.93", "0.97"}, "pairs"},
        {"everyn", {"3", "7"}, "leader"},
    };
    for (const Case& c : cases) {
        std::string list;
        for (const auto& t : c.thresholds) list += (list.empty() ? "" : ",") + t;
        std::vector<std::string> args = {
            "sweep", (dir / "data").string(), "--method", c.method, "--thresholds", list, "--json", "-q"};
        if (c.method != "everyn") args.insert(args.end(), {"--strategy", c.strategy});
        const auto r = test::run_lessmore(args);
        ASSERT_EQ(r.exit_code, 0) << c.method << " " << r.err;
        const json s = json::parse(r.out);
        EXPECT_EQ(s["method"], c.method);
        ASSERT_EQ(s["thresholds"].size(), c.thresholds.size());
        for (std::size_t k = 0; k < c.thresholds.size(); ++k) {
            const auto out = dir / (c.method + c.strategy + std::to_string(k));
            std::vector<std::string> reduce = {
                "reduce", (dir / "data").string(), "-o", out.string(), "--method", c.method, "--format", "none", "-q"};
            if (c.method == "everyn") {
                reduce.insert(reduce.end(), {"--every", c.thresholds[k]});
            } else {
                reduce.insert(reduce.end(), {"-t", c.thresholds[k], "--strategy", c.strategy});
            }
            ASSERT_EQ(test::run_lessmore(reduce).exit_code, 0) << c.method;
            const auto expected = kept_per_volume(out / "manifest.json");
            const json& row = s["thresholds"][k];
            std::size_t total = 0;
            for (const auto& [id, kept] : expected) {
                EXPECT_EQ(row["volumes"][id], kept)
                    << c.method << " " << c.strategy << " t=" << c.thresholds[k] << " " << id;
                total += kept;
            }
            EXPECT_EQ(row["kept"], total);
        }
    }
}

TEST(CliSweep, TableCsvAndPlot) {
    test::TempDir dir;
    const auto r = test::run_lessmore({"sweep", test::bundled_sample().string(), "--csv", (dir / "s.csv").string(),
                                       "--plot", (dir / "s.png").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("threshold"), std::string::npos);
    const std::string csv = test::read_file(dir / "s.csv");
    std::size_t lines = 0;
    for (char ch : csv) lines += ch == '\n';
    EXPECT_EQ(lines, 1u + 65u * 2u);  // header, then 65 thresholds x (the volume + all)
    EXPECT_EQ(csv.substr(0, csv.find('\n')), "threshold,volume,slices,kept,fraction");
    const cv::Mat plot = cv::imread((dir / "s.png").string());
    ASSERT_FALSE(plot.empty());
    EXPECT_GE(plot.cols, 800);
    cv::Scalar mean, sd;
    cv::meanStdDev(plot, mean, sd);
    EXPECT_GT(sd[0], 10.0);  // not blank
    const auto bad = test::run_lessmore({"sweep", test::bundled_sample().string(), "--thresholds", "5:1:1"});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.err.find("--thresholds"), std::string::npos);
}

}  // namespace
}  // namespace lessmore
