// OUT as a store: records written and read back whole, damage never taken for a finished
// source, only lessmore's own files cleared, and manifests streamed from the records.
#include "test_support.hpp"

#include <lessmore/error.hpp>

#include "pipeline/output_store.hpp"

namespace lessmore {
namespace {

SourceRecord record(const std::string& source, std::size_t slices, std::vector<InputFailure> errors = {}) {
    SourceRecord r;
    r.source = source;
    VolumeRecord v;
    v.info.id = source;
    v.info.source = "in/" + source;
    v.info.format = "nifti";
    v.info.width = 2;
    v.info.height = 2;
    v.info.spacing = {0.5, 0.75, 1.0};
    v.info.orientation = std::array<double, 6>{1, 0, 0, 0, 1, 0};
    for (std::size_t i = 0; i < slices; ++i) {
        SliceRecord s;
        s.index = i;
        s.z = static_cast<double>(i);
        s.kept = i % 2 == 0;
        if (!s.kept) s.match = i - 1;
        if (s.kept) s.output = OutputStore::slice_path(source, i, slices, "png", false);
        v.info.slices.push_back({"", s.z, std::array<double, 3>{-10.5, 20.0, s.z.value()}});
        v.slices.push_back(s);
        v.kept += s.kept;
    }
    r.volumes.push_back(v);
    r.errors = std::move(errors);
    return r;
}

TEST(OutputStore, RecordsRoundTripAndMissingOnesAreNothing) {
    test::TempDir dir;
    const OutputStore store(dir.path());
    store.create();
    store.write_record(record("a/b.nii.gz", 3));
    const auto back = store.read_record("a/b.nii.gz");
    ASSERT_TRUE(back);
    EXPECT_EQ(to_json(*back), to_json(record("a/b.nii.gz", 3)));
    EXPECT_TRUE(back->done());
    EXPECT_FALSE(store.read_record("other"));
}

TEST(OutputStore, DamagedRecordsAreNotTakenForFinished) {
    test::TempDir dir;
    const OutputStore store(dir.path());
    store.create();
    store.write_record(record("x", 2));
    const auto records = dir / ".lessmore" / "records";
    const auto file = test::fs::directory_iterator(records)->path();
    test::write_file(file, "{\"source\": \"x\", \"volumes\": [{\"id\": 1}]");
    EXPECT_FALSE(store.read_record("x"));  // resume does the source again
    try {
        (void)store.read_all_records();
        ADD_FAILURE() << "read a damaged record";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(file.filename().string()), std::string::npos) << e.what();
    }
}

TEST(OutputStore, ARecordOfAnotherIdIsNotThisIdsRecord) {
    // A digest collision, or a record copied by hand: the source id inside decides.
    test::TempDir dir;
    const OutputStore store(dir.path());
    store.create();
    store.write_record(record("z", 2));
    const auto file = test::fs::directory_iterator(dir / ".lessmore" / "records")->path();
    test::write_file(file, dump_json(to_json(record("y", 2))));
    EXPECT_FALSE(store.read_record("z"));
    EXPECT_EQ(store.read_all_records().front().source, "y");
}

TEST(OutputStore, ReadRunRefusesForeignFiles) {
    test::TempDir dir;
    const OutputStore store(dir.path());
    EXPECT_FALSE(store.read_run());
    store.create();
    test::write_file(dir / ".lessmore" / "run.json", "{\"tool\": \"other\"}");
    EXPECT_THROW(store.read_run(), UsageError);
    test::write_file(dir / ".lessmore" / "run.json", "not json");
    EXPECT_THROW(store.read_run(), UsageError);
}

TEST(OutputStore, ClearRemovesOnlyLessmoresFiles) {
    test::TempDir dir;
    const OutputStore store(dir.path());
    store.create();
    test::write_file(dir / "manifest.json", "{}");
    test::write_file(dir / "manifest.csv", "");
    test::write_file(dir / "slices" / "a" / "0.png", "png");
    test::write_file(dir / "notes.txt", "the user's");
    EXPECT_FALSE(store.only_lessmore_files());
    store.clear();
    EXPECT_TRUE(test::fs::exists(dir / "notes.txt"));
    EXPECT_FALSE(test::fs::exists(dir / "slices"));
    EXPECT_FALSE(test::fs::exists(dir / ".lessmore" / "records"));
    EXPECT_FALSE(test::fs::exists(dir / "manifest.json"));
    test::fs::remove(dir / "notes.txt");
    EXPECT_TRUE(store.only_lessmore_files());
}

TEST(OutputStore, RemoveTemporariesSweepsOnlyTemporaries) {
    test::TempDir dir;
    test::write_file(dir / "slices" / "v" / ".0.png.tmp-AbC123", "half");
    test::write_file(dir / "slices" / "v" / "0.png", "whole");
    test::write_file(dir / ".lessmore" / "records" / ".r.json.tmp-XyZ789", "half");
    OutputStore(dir.path()).remove_temporaries();
    EXPECT_TRUE(test::fs::exists(dir / "slices" / "v" / "0.png"));
    EXPECT_FALSE(test::fs::exists(dir / "slices" / "v" / ".0.png.tmp-AbC123"));
    EXPECT_FALSE(test::fs::exists(dir / ".lessmore" / "records" / ".r.json.tmp-XyZ789"));
}

TEST(OutputStore, DamageIsReportedWithTheFieldAndLoadRecordRefusesIt) {
    test::TempDir dir;
    const OutputStore store(dir.path());
    store.create();
    SourceRecord r = record("x", 2);
    r.volumes[0].slices[0].output = "../outside.png";
    store.write_record(record("x", 2));
    const auto file = test::fs::directory_iterator(dir / ".lessmore" / "records")->path();
    test::write_file(file, dump_json(to_json(r)));  // as a hand, or another program, might
    std::string damage;
    EXPECT_FALSE(store.read_record("x", &damage));
    EXPECT_NE(damage.find("damaged record"), std::string::npos) << damage;
    EXPECT_NE(damage.find("field 'output'"), std::string::npos) << damage;
    try {
        (void)store.load_record("x");
        ADD_FAILURE() << "loaded a record naming ../outside.png";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("field 'output'"), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)store.read_all_records(), UsageError);
}

TEST(OutputStore, LinksWhereLessmoreKeepsItsFilesAreRefusedOrRemovedAsLinks) {
    test::TempDir dir;
    test::write_file(dir / "outside" / "keep.txt", "keep");
    const OutputStore store(dir / "out");
    store.create();
    test::fs::create_directory_symlink(dir / "outside", dir / "out" / "slices");
    EXPECT_THROW(store.check_layout(), UsageError);
    EXPECT_THROW(store.remove_temporaries(), UsageError);  // what --resume does
    store.clear();                                         // what --force does
    EXPECT_FALSE(test::fs::exists(dir / "out" / "slices"));
    // OUT/.lessmore a link: lock() refuses it, or with --force replaces it by a folder.
    test::fs::remove_all(dir / "out" / ".lessmore");
    test::fs::create_directory_symlink(dir / "outside", dir / "out" / ".lessmore");
    EXPECT_THROW((void)store.lock("-o out"), UsageError);
    { const auto lock = store.lock("-o out", true); }
    EXPECT_TRUE(test::fs::is_directory(test::fs::symlink_status(dir / "out" / ".lessmore")));
    EXPECT_EQ(test::files_under(dir / "outside"), (std::set<std::string>{"keep.txt"}));
}

TEST(OutputStore, ClearRefusesWhileAMergeMoveIsHalfDone) {
    test::TempDir dir;
    const OutputStore store(dir.path());
    store.create();
    test::write_file(dir / "slices" / "v" / "0.png", "the only copy");
    store.write_journal({{"/s1", "/s2"}, true, MergeState::Committed});
    EXPECT_THROW(store.clear(), UsageError);
    EXPECT_TRUE(test::fs::exists(dir / "slices" / "v" / "0.png"));
    store.write_journal({{"/s1", "/s2"}, true, MergeState::Moved});
    store.clear();
    EXPECT_FALSE(test::fs::exists(dir / "slices"));
    EXPECT_FALSE(store.read_journal());
}

TEST(OutputStore, ManifestsAreStreamedFromTheRecords) {
    test::TempDir dir;
    const OutputStore store(dir.path());
    store.create();
    store.write_record(record("b", 3));
    store.write_record(record("a", 2, {{"in/a/x.dcm", "truncated"}}));
    OrderedJson header = tool_stamp();
    header["run"] = {{"command", {"lessmore"}}};
    header["parameters"] = {{"method", "hash"}};
    ReduceResult result;
    RunParameters parameters;
    store.write_manifests(header, parameters, {"a", "b"}, {{"in/zzz", "cannot list folder"}}, result);
    EXPECT_EQ(result.summary.volumes, 2u);
    EXPECT_EQ(result.summary.slices, 5u);
    EXPECT_EQ(result.summary.kept, 3u);
    ASSERT_EQ(result.errors.size(), 2u);
    EXPECT_EQ(result.errors[0].path, "in/a/x.dcm");  // errors by path
    const auto m = test::read_json(dir / "manifest.json");
    EXPECT_EQ(m["volumes"].size(), 2u);
    EXPECT_EQ(m["volumes"][0]["id"], "a");
    EXPECT_EQ(m["summary"]["failed"], 2);
    EXPECT_EQ(m["parameters"]["method"], "hash");
    const std::string csv = test::read_file(dir / "manifest.csv");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6);  // header + 5 slices
    EXPECT_EQ(csv.substr(0, csv.find('\n') + 1), manifest_csv_header());
    // Every row complete: the volume's fields repeated, floats with a point, none empty.
    EXPECT_NE(csv.find("\nb,0,,0.0,true,,,,,slices/b/0.png,,slices/b/0.png,in/b,nifti,folder:b,,,int16,-10.5,20.0,"
                       "0.0,1.0,0.0,0.0,0.0,1.0,0.0,0.5,0.75,1.0,\n"),
              std::string::npos)
        << csv;
    EXPECT_NE(csv.find("\nb,1,,1.0,false,0,,,,,,,in/b,nifti,folder:b,,,int16,-10.5,20.0,1.0,"), std::string::npos)
        << csv;
    // A missing record is an error naming the source, and no manifest is committed.
    const OutputStore other((dir / "other").string());
    other.create();
    EXPECT_THROW(other.write_manifests(header, parameters, {"gone"}, {}, result), Error);
    EXPECT_FALSE(test::fs::exists(dir / "other" / "manifest.json"));
    EXPECT_FALSE(test::fs::exists(dir / "other" / "manifest.csv"));
}

}  // namespace
}  // namespace lessmore
