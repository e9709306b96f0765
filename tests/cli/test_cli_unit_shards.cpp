// Unit runs (--unit slab|patch) split over machines and interrupted: --shard I/N and
// `merge`, and --resume, give what one uninterrupted run gives — the same decisions, the
// same unit files, byte for byte (docs/cluster.md; docs/methods.md, "3-D units").
#include "test_support.hpp"

#include <lessmore/cancel.hpp>
#include <lessmore/progress.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/unit.hpp>

namespace lessmore {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string> k_unit_args = {"--unit",   "slab:4:2", "-m",         "hash", "-t", "8",
                                              "--format", "both",     "--progress", "none", "-q"};

void reduce_into(const fs::path& out, const std::vector<std::string>& extra = {},
                 const fs::path& data = test::ct_data()) {
    std::vector<std::string> args = {"reduce", data.string(), "-o", out.string()};
    args.insert(args.end(), k_unit_args.begin(), k_unit_args.end());
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = test::run_lessmore(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
}

// Each volume's units as decided and written: index, kept, match, files.
json decisions(const fs::path& out) {
    json d = json::array();
    const json manifest = test::read_json(out / "manifest.json");  // outlives the loop over its volumes
    for (const json& v : manifest["volumes"]) {
        json units = json::array();
        for (const json& u : v["units"])
            units.push_back(
                {u["index"], u["kept"], u["match"], u["match_volume"], u["score"], u["output"], u["output_npy"]});
        d.push_back({v["id"], units});
    }
    return d;
}

// Every file lessmore wrote below slices/, with its bytes.
std::map<std::string, std::string> unit_files(const fs::path& out) {
    std::map<std::string, std::string> files;
    for (const std::string& rel : test::files_under(out / "slices")) files[rel] = test::read_file(out / "slices" / rel);
    return files;
}

void expect_shards_merged_equal_one_run(const std::vector<std::string>& extra, const fs::path& data) {
    test::TempDir dir;
    reduce_into(dir / "one", extra, data);
    std::vector<std::string> merge = {"merge"};
    for (int i = 1; i <= 3; ++i) {
        const auto shard = dir / ("shard" + std::to_string(i));
        std::vector<std::string> args = extra;
        args.insert(args.end(), {"--shard", std::to_string(i) + "/3"});
        reduce_into(shard, args, data);
        merge.push_back(shard.string());
    }
    merge.insert(merge.end(), {"-o", (dir / "merged").string()});
    const auto r = test::run_lessmore(merge);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("units"), std::string::npos) << r.out;
    EXPECT_EQ(decisions(dir / "merged"), decisions(dir / "one"));
    const auto files = unit_files(dir / "one");
    EXPECT_GT(files.size(), 10u);
    EXPECT_EQ(unit_files(dir / "merged"), files);
    EXPECT_EQ(test::read_json(dir / "merged" / "manifest.json")["duplicates"],
              test::read_json(dir / "one" / "manifest.json")["duplicates"]);
}

TEST(CliUnitShards, ShardsMergedEqualOneRun) { expect_shards_merged_equal_one_run({}, test::ct_data()); }

// The cross-volume pass runs again in merge over every shard's kept units: a copy of a
// volume loses its units to the original whichever shards the two fell in.
TEST(CliUnitShards, ShardsOfAScopeDatasetRunMergedEqualOneRun) {
    test::TempDir data;
    test::copy_tree(test::ct_data() / "nifti", data / "a");
    test::copy_tree(test::ct_data() / "nifti", data / "b");
    test::copy_tree(test::ct_data() / "pancreas-ct-cb-001", data / "c");
    expect_shards_merged_equal_one_run({"--scope", "dataset"}, data.path());
}

// Stops the run once the first volume is finished, as Ctrl-C would.
class StopAfterFirstVolume : public ProgressSink {
public:
    explicit StopAfterFirstVolume(CancelToken& cancel) : m_cancel(cancel) {}
    void volume_finished(const std::string&, std::size_t, std::size_t, double) override { m_cancel.cancel(); }

private:
    CancelToken& m_cancel;
};

TEST(CliUnitShards, AResumedRunEqualsOneRun) {
    test::TempDir dir;
    reduce_into(dir / "one");
    ReduceConfig c;
    c.inputs = {test::ct_data().string()};
    c.output = (dir / "resumed").string();
    c.unit = parse_unit_spec("slab:4:2");
    c.metric.method = "hash";
    c.threshold = 8;
    c.format = OutputFormat::Both;
    c.threads = 1;
    CancelToken cancel;
    StopAfterFirstVolume stop(cancel);
    EXPECT_THROW(reduce(c, stop, cancel), Interrupted);
    ASSERT_FALSE(test::fs::exists(dir / "resumed" / "manifest.json"));
    reduce_into(dir / "resumed", {"--resume"});
    EXPECT_EQ(decisions(dir / "resumed"), decisions(dir / "one"));
    EXPECT_EQ(unit_files(dir / "resumed"), unit_files(dir / "one"));
}

}  // namespace
}  // namespace lessmore
