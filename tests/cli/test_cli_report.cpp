// sweep against separate reduce runs, and the HTML report in a real (headless) browser.
#include "test_support.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdlib>
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
        {"hash", {"3", "6", "10"}, "leader"}, {"hash", {"3", "6", "10"}, "pairs"},
        {"ssim", {"0.8", "0.9"}, "leader"},   {"ssim", {"0.8", "0.9"}, "pairs"},
        {"mi", {"1.3", "1.5"}, "leader"},     {"mi", {"1.3", "1.5"}, "pairs"},
        {"deepnet", {"0.93", "0.97"}, "leader"}, {"deepnet", {"0.93", "0.97"}, "pairs"},
        {"everyn", {"3", "7"}, "leader"},
    };
    for (const Case& c : cases) {
        std::string list;
        for (const auto& t : c.thresholds) list += (list.empty() ? "" : ",") + t;
        std::vector<std::string> args = {"sweep", (dir / "data").string(), "--method", c.method, "--thresholds", list, "--json", "-q"};
        if (c.method != "everyn") args.insert(args.end(), {"--strategy", c.strategy});
        const auto r = test::run_lessmore(args);
        ASSERT_EQ(r.exit_code, 0) << c.method << " " << r.err;
        const json s = json::parse(r.out);
        EXPECT_EQ(s["method"], c.method);
        ASSERT_EQ(s["thresholds"].size(), c.thresholds.size());
        for (std::size_t k = 0; k < c.thresholds.size(); ++k) {
            const auto out = dir / (c.method + c.strategy + std::to_string(k));
            std::vector<std::string> reduce = {"reduce", (dir / "data").string(), "-o", out.string(), "--method", c.method,
                                               "--format", "none", "-q"};
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
                EXPECT_EQ(row["volumes"][id], kept) << c.method << " " << c.strategy << " t=" << c.thresholds[k] << " " << id;
                total += kept;
            }
            EXPECT_EQ(row["kept"], total);
        }
    }
}

TEST(CliSweep, TableCsvAndPlot) {
    test::TempDir dir;
    const auto r = test::run_lessmore({"sweep", test::bundled_sample().string(), "--csv", (dir / "s.csv").string(), "--plot",
                                       (dir / "s.png").string()});
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

bool have_chromium() { return test::fs::exists("/usr/bin/chromium"); }

// Runs headless Chromium on a page; returns its stdout (for --dump-dom) and fills stderr.
std::string chromium(const std::vector<std::string>& extra, const test::fs::path& page, const test::fs::path& work,
                     std::string& err) {
    std::string cmd = "/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                      "--disable-background-networking --disable-component-update --disable-sync "
                      "--enable-logging=stderr --v=0 --user-data-dir=" + (work / "profile").string();
    for (const auto& e : extra) cmd += " " + e;
    cmd += " 'file://" + page.string() + "' > '" + (work / "out.txt").string() + "' 2> '" + (work / "err.txt").string() + "'";
    const int rc = std::system(("timeout 120 " + cmd).c_str());
    EXPECT_EQ(rc, 0) << cmd;
    err = test::read_file(work / "err.txt");
    return test::read_file(work / "out.txt");
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
    return n;
}

TEST(CliReport, RendersInAHeadlessBrowser) {
    if (!have_chromium()) GTEST_SKIP() << "SKIPPED: /usr/bin/chromium not installed (Debian package chromium)";
    test::TempDir dir;
    test::copy_tree(test::bundled_sample().parent_path(), dir / "data" / "sample");
    test::copy_tree(test::dicom_fixtures(), dir / "data" / "dicom");
    const auto r = test::run_lessmore({"reduce", (dir / "data").string(), "-o", (dir / "out").string(), "-t", "6", "--report", "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json m = test::read_json(dir / "out" / "manifest.json");
    const std::size_t volumes = m["volumes"].size();
    ASSERT_EQ(volumes, 6u);  // the sample, philips, two series, padded, constant
    const auto page = dir / "out" / "report.html";
    ASSERT_TRUE(test::fs::exists(page));
    const std::string html = test::read_file(page);
    EXPECT_EQ(html.find("http://"), std::string::npos);  // nothing fetched from the network
    EXPECT_EQ(html.find("https://"), std::string::npos);

    std::string err;
    const std::string dom = chromium({"--dump-dom"}, page, dir.path(), err);
    EXPECT_EQ(count(dom, "<tr class=\"vol\""), volumes);
    EXPECT_EQ(count(dom, "class=\"sheet\""), volumes);
    EXPECT_EQ(count(dom, "class=\"heatmap\""), volumes);
    EXPECT_EQ(count(dom, "class=\"histogram\""), 1u);
    EXPECT_EQ(err.find("Uncaught"), std::string::npos) << err;
    EXPECT_EQ(count(err, ":CONSOLE"), 0u) << err;  // Chromium logs console messages as INFO:CONSOLE:

    chromium({"--window-size=1280,2000", "--screenshot=" + (dir / "shot.png").string()}, page, dir.path(), err);
    const cv::Mat shot = cv::imread((dir / "shot.png").string());
    ASSERT_FALSE(shot.empty());
    cv::Scalar mean, sd;
    cv::meanStdDev(shot, mean, sd);
    EXPECT_GT(sd[0], 20.0) << "blank screenshot";
    // The contact sheets' dark thumbnails and the text: both dark and light pixels.
    cv::Mat grey;
    cv::cvtColor(shot, grey, cv::COLOR_BGR2GRAY);
    EXPECT_GT(cv::countNonZero(grey < 60), 1000);
    EXPECT_GT(cv::countNonZero(grey > 200), 100000);
}

TEST(CliReport, LargeDatasetsGetOnePagePerVolume) {
    test::TempDir dir;
    for (int i = 0; i < 22; ++i) test::copy_tree(test::dicom_fixtures() / "padded", dir / "data" / ("p" + std::to_string(i)));
    ASSERT_EQ(test::run_lessmore({"reduce", (dir / "data").string(), "-o", (dir / "out").string(), "-t", "6", "-q",
                                  "--format", "none"}).exit_code, 0);
    const auto r = test::run_lessmore({"report", (dir / "out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("22 volume pages"), std::string::npos) << r.out;
    const std::string index = test::read_file(dir / "out" / "report.html");
    EXPECT_EQ(count(index, "class=\"sheet\""), 0u);  // the index stays light
    for (int k = 0; k < 22; ++k) {
        const auto page = dir / "out" / "report" / (std::to_string(k) + ".html");
        ASSERT_TRUE(test::fs::exists(page)) << page;
        EXPECT_NE(index.find("report/" + std::to_string(k) + ".html"), std::string::npos);
        EXPECT_EQ(count(test::read_file(page), "class=\"sheet\""), 1u);
    }
    const auto bad = test::run_lessmore({"report", (dir / "data").string()});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.err.find("no finished lessmore run"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace lessmore
