// The scope pass over a run's records (src/pipeline/scope_pass.hpp) on hand-made HASH
// records: a copy of a volume is removed and listed as a duplicate, a volume of another
// patient only with --scope dataset, PatientID digests win over folders, damaged features
// are refused, and applying the outcome rewrites a record's decisions.
#include "test_support.hpp"

#include <lessmore/error.hpp>

#include "pipeline/output_store.hpp"
#include "pipeline/scope_pass.hpp"

namespace lessmore {
namespace {

// A one-volume source whose kept slices carry these dhashes (hex, as HASH records them).
SourceRecord hashed(const std::string& id, const std::vector<std::string>& hashes, const std::string& patient = "") {
    SourceRecord r;
    r.source = id;
    VolumeRecord v;
    v.info.id = id;
    v.info.source = "in/" + id;
    v.info.format = "nifti";
    v.info.width = v.info.height = 8;
    v.info.patient = patient;
    for (std::size_t i = 0; i < hashes.size(); ++i) {
        SliceRecord s;
        s.index = i;
        s.description = hashes[i];
        s.output = OutputStore::slice_path(id, i, hashes.size(), "png", false);
        v.info.slices.push_back({"", static_cast<double>(i), std::nullopt});
        v.slices.push_back(s);
    }
    v.kept = hashes.size();
    r.volumes.push_back(v);
    return r;
}

RunParameters hash_params(Scope scope, double threshold) {
    RunParameters p;
    p.metric.method = "hash";
    p.threshold = threshold;
    p.scope = scope;
    p.scope_threshold = threshold;
    return p;
}

struct Fixture {
    test::TempDir dir;
    OutputStore store{dir.path()};
    ThreadPool pool{2};
    CancelToken cancel;
    Fixture() { store.create(); }
    ScopeOutcome run(const std::vector<SourceRecord>& records, const RunParameters& p) {
        std::vector<std::string> ids;
        for (const SourceRecord& r : records) {
            store.write_record(r);
            ids.push_back(r.source);
        }
        return scope_pass(store, ids, p, pool, cancel);
    }
};

const std::vector<std::string> k_a = {"0000000000000000", "ffffffffffffffff", "00000000ffffffff"};
// k_a with two bits flipped in every hash: within 2 of k_a, far from each other.
const std::vector<std::string> k_near_a = {"0000000000000003", "fffffffffffffff0" /* 4 bits */, "00000000fffffffc"};

TEST(ScopePass, DatasetRemovesCopiesAcrossPatientsAndListsDuplicates) {
    Fixture f;
    const ScopeOutcome o = f.run({hashed("p1/a", k_a), hashed("p1/b", k_a), hashed("p2/c", {"0f0f0f0f0f0f0f0f"})},
                                 hash_params(Scope::Dataset, 0));
    ASSERT_TRUE(o.applied);
    EXPECT_EQ(o.removed_count(), 3u);
    ASSERT_EQ(o.removed.count("p1/b"), 1u);
    for (std::size_t i = 0; i < 3; ++i) {
        const ScopeMatch& m = o.removed.at("p1/b").at(i);
        EXPECT_EQ(m.volume, "p1/a");
        EXPECT_EQ(m.index, i);
        EXPECT_EQ(m.score, 0.0);
    }
    EXPECT_EQ(o.removed.count("p2/c"), 0u);
    ASSERT_EQ(o.duplicates.size(), 1u);
    EXPECT_EQ(o.duplicates[0].volume, "p1/b");
    EXPECT_EQ(o.duplicates[0].of, "p1/a");
    EXPECT_DOUBLE_EQ(o.duplicates[0].fraction, 1.0);
    EXPECT_EQ(o.removed_files.size(), 3u);
}

TEST(ScopePass, TheThresholdDecidesWhatIsSimilar) {
    Fixture f;
    // At 2 bits two of k_near_a's slices match; the third is 4 bits away.
    const ScopeOutcome o = f.run({hashed("a", k_a), hashed("b", k_near_a)}, hash_params(Scope::Dataset, 2));
    ASSERT_EQ(o.removed.count("b"), 1u);
    EXPECT_EQ(o.removed.at("b").size(), 2u);
    EXPECT_EQ(o.removed.at("b").count(1), 0u);
    EXPECT_EQ(o.removed.at("b").at(0).score, 2.0);
    EXPECT_TRUE(o.duplicates.empty());  // 2/3 < 0.9
}

TEST(ScopePass, PatientScopeComparesOnlyWithinAPatient) {
    Fixture f;
    RunParameters p = hash_params(Scope::Patient, 0);
    p.patient_depth = 1;
    // c is a copy of a but of another patient folder; d's PatientID matches nobody's folder.
    const ScopeOutcome o = f.run({hashed("p1/a", k_a), hashed("p1/b", k_a), hashed("p2/c", k_a),
                                  hashed("p3/d", k_a, "0123456789abcdef"), hashed("p4/e", k_a, "0123456789abcdef")},
                                 p);
    EXPECT_EQ(o.removed.count("p1/b"), 1u);
    EXPECT_EQ(o.removed.count("p2/c"), 0u);
    EXPECT_EQ(o.removed.count("p3/d"), 0u);
    EXPECT_EQ(o.removed.count("p4/e"), 1u);  // same PatientID digest as p3/d, whatever the folders
    EXPECT_EQ(o.groups.at("p1/a"), "folder:p1");
    EXPECT_EQ(o.groups.at("p4/e"), "patient:0123456789abcdef");
}

TEST(ScopePass, ApplyingTheOutcomeRewritesTheDecisions) {
    Fixture f;
    const ScopeOutcome o = f.run({hashed("a", k_a), hashed("b", k_a)}, hash_params(Scope::Dataset, 0));
    auto b = f.store.read_record("b");
    ASSERT_TRUE(b);
    EXPECT_EQ(apply_scope(o, b->volumes[0]), 3u);
    for (const SliceRecord& s : b->volumes[0].slices) {
        EXPECT_FALSE(s.kept);
        EXPECT_EQ(s.match_volume.value_or(""), "a");
        EXPECT_EQ(s.match, s.index);
        EXPECT_TRUE(s.output.empty());
    }
}

TEST(ScopePass, RecordsWithoutOrWithBadFeaturesAreRefused) {
    Fixture f;
    SourceRecord bad = hashed("b", k_a);
    bad.volumes[0].slices[1].description = "not a hash";
    EXPECT_THROW(f.run({hashed("a", k_a), bad}, hash_params(Scope::Dataset, 0)), Error);
    SourceRecord none = hashed("c", k_a);
    none.volumes[0].slices[0].description.reset();
    Fixture g;
    EXPECT_THROW(g.run({none}, hash_params(Scope::Dataset, 0)), Error);
}

}  // namespace
}  // namespace lessmore
