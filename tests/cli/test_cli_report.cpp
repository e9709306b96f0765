// The HTML report in a real (headless) browser, inline and paged.
#include "test_support.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdlib>
#include <map>

namespace lessmore {
namespace {

using nlohmann::json;

bool have_chromium() { return test::fs::exists("/usr/bin/chromium"); }

// Runs headless Chromium on a page; returns its stdout (for --dump-dom) and fills stderr.
std::string chromium(const std::vector<std::string>& extra, const test::fs::path& page, const test::fs::path& work,
                     std::string& err) {
    std::string cmd =
        "/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
        "--disable-background-networking --disable-component-update --disable-sync "
        "--enable-logging=stderr --v=0 --user-data-dir=" +
        (work / "profile").string();
    for (const auto& e : extra) cmd += " " + e;
    cmd += " 'file://" + page.string() + "' > '" + (work / "out.txt").string() + "' 2> '" +
           (work / "err.txt").string() + "'";
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
    const auto r = test::run_lessmore(
        {"reduce", (dir / "data").string(), "-o", (dir / "out").string(), "-t", "6", "--report", "-q"});
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
    for (int i = 0; i < 22; ++i)
        test::copy_tree(test::dicom_fixtures() / "padded", dir / "data" / ("p" + std::to_string(i)));
    ASSERT_EQ(test::run_lessmore({"reduce", (dir / "data").string(), "-o", (dir / "out").string(), "-t", "6", "-q",
                                  "--format", "none"})
                  .exit_code,
              0);
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

TEST(CliReport, SameReportWhateverTheThreads) {
    // Small thumbnails make labels wider than their cells: they overlap their neighbours,
    // which must not depend on which thread drew first.
    test::TempDir dir;
    ASSERT_EQ(test::run_lessmore({"reduce", (test::ct_data() / "pancreas-ct-cb-001").string(), "-o",
                                  (dir / "out").string(), "-t", "2", "-q", "--format", "none"})
                  .exit_code,
              0);
    std::string first;
    for (const char* threads : {"1", "2", "2", "3"}) {
        const auto r = test::run_lessmore({"report", (dir / "out").string(), "--thumbnail", "40", "-j", threads, "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const std::string html = test::read_file(dir / "out" / "report.html");
        if (first.empty()) first = html;
        EXPECT_TRUE(html == first) << "report differs with -j " << threads;
    }
}

}  // namespace
}  // namespace lessmore
