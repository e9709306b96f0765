// The typed record of a run: every field survives JSON and back, the manifest's key order
// is fixed, and damage is reported naming the field (never nlohmann's own message).
#include "test_support.hpp"

#include "pipeline/run_record.hpp"

namespace lessmore {
namespace {

RunParameters parameters(const std::string& method) {
    RunParameters p;
    p.inputs = {"data/a", "b.nii.gz"};
    p.metric.method = method;
    p.metric.hash_size = 16;
    p.metric.bins = 64;
    p.metric.resize = method == "ssim" || method == "mi" ? 128 : 0;
    if (method == "everyn") {
        p.every = 5;
    } else {
        p.threshold = method == "hash" ? 6.0 : 0.95;
        p.strategy = Strategy::Pairs;
        p.neighbours = 12;
    }
    p.order = SliceOrder::Name;
    p.intensity = IntensityMapping::from_string("window:40.5,400").value();
    p.format = OutputFormat::Both;
    p.flat = true;
    if (method == "deepnet") {
        ModelDescription m;
        m.name = "/models/r50.onnx";
        m.sha256 = std::string(64, 'a');
        m.sidecar = "/models/r50.json";
        m.width = 256;
        m.height = 192;
        m.nhwc = true;
        m.bgr = true;
        m.scale = 1.0 / 255;
        m.mean = {0.485, 0.456, 0.406};
        m.std = {0.229, 0.224, 0.225};
        m.input = "input";
        m.output = "pool5";
        m.pool = true;
        m.embedding_size = 2048;
        m.batch = 2;
        p.model = m;
    }
    return p;
}

TEST(RunRecord, ParametersRoundTripForEveryMethod) {
    for (const std::string method : {"everyn", "hash", "ssim", "mi", "deepnet"}) {
        const RunParameters p = parameters(method);
        const OrderedJson j = to_json(p);
        const RunParameters back = run_parameters_from_json(j);
        EXPECT_EQ(to_json(back), j) << method;
        EXPECT_EQ(back.metric.method, method);
        EXPECT_EQ(back.intensity.center, 40.5);
        EXPECT_EQ(back.order, SliceOrder::Name);
        EXPECT_EQ(back.format, OutputFormat::Both);
    }
}

TEST(RunRecord, ParameterKeysInManifestOrder) {
    std::vector<std::string> keys;
    const OrderedJson mi = to_json(parameters("mi"));  // named: items() of a temporary would dangle
    for (const auto& [k, v] : mi.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"inputs", "method", "threshold", "fraction", "every", "neighbours", "strategy",
                                              "order", "include_localizers", "intensity", "resize", "bins", "format", "flat",
                                              "scope"}));
    const OrderedJson hash = to_json(parameters("hash"));
    EXPECT_EQ(hash["threshold"].dump(), "6");  // a Hamming distance prints as a whole number
    EXPECT_EQ(hash["hash_size"], 16);
    EXPECT_TRUE(to_json(parameters("everyn"))["strategy"].is_null());
}

TEST(RunRecord, MetricOptionsRebuildTheRunsModel) {
    const RunParameters p = parameters("deepnet");
    const MetricOptions o = p.metric_options();
    EXPECT_EQ(o.model.path, "/models/r50.onnx");
    EXPECT_EQ(o.model.input_size, std::make_pair(256, 192));
    EXPECT_EQ(o.model.layout, "NHWC");
    EXPECT_EQ(o.model.channel_order, "BGR");
    EXPECT_EQ(o.model.output, "pool5");
    EXPECT_EQ(o.model.pool, true);
    EXPECT_EQ(o.model.batch, 2);
    RunParameters bundled = p;
    bundled.model->name = "bundled:mobilenet.onnx";
    bundled = run_parameters_from_json(to_json(bundled));
    EXPECT_TRUE(bundled.model->bundled);
    EXPECT_EQ(bundled.metric_options().model.path, "");  // the bundled model: no file to read
}

SourceRecord source_record() {
    SourceRecord r;
    r.source = "patients/p1";
    VolumeRecord v;
    v.info.id = "patients/p1#2";
    v.info.source = "in/patients/p1";
    v.info.format = "dicom";
    v.info.width = 4;
    v.info.height = 3;
    v.info.spacing = {0.5, 0.5, 2.5};
    v.info.type = VoxelType::UInt16;
    for (std::size_t i = 0; i < 3; ++i) {
        SliceRecord s;
        s.index = i;
        s.file = "I" + std::to_string(i);
        s.z = i == 1 ? std::nullopt : std::optional<double>(-12.25 * static_cast<double>(i));
        s.kept = i != 1;
        if (i == 1) {
            s.match = 0;
            s.score = 3;
        }
        s.description = "00ff00ff00ff00ff";
        if (s.kept) {
            s.output = "slices/patients/p1#2/" + std::to_string(i) + ".png";
            s.output_npy = "slices/patients/p1#2/" + std::to_string(i) + ".npy";
        }
        v.info.slices.push_back({s.file, s.z});
        v.slices.push_back(s);
    }
    v.kept = 2;
    v.pairs_computed = 3;
    v.seconds = 0.125;
    r.volumes.push_back(v);
    r.errors.push_back({"in/patients/p1/bad.dcm", "pixel data is truncated"});
    return r;
}

TEST(RunRecord, SourceRecordRoundTrips) {
    const SourceRecord r = source_record();
    const OrderedJson j = to_json(r);
    const SourceRecord back = source_record_from_json(j);
    EXPECT_EQ(to_json(back), j);
    EXPECT_EQ(back.volumes[0].info.type, VoxelType::UInt16);
    EXPECT_EQ(back.volumes[0].slices[1].match, 0u);
    EXPECT_FALSE(back.volumes[0].slices[1].z);
    EXPECT_EQ(back.volumes[0].info.slice_count(), 3u);
    EXPECT_FALSE(back.done());
    EXPECT_EQ(j["volumes"][0]["slices"][0]["hash"], "00ff00ff00ff00ff");
}

TEST(RunRecord, DamageNamesTheField) {
    OrderedJson j = to_json(source_record());
    auto expect_field = [](const OrderedJson& bad, const std::string& field) {
        try {
            source_record_from_json(bad);
            ADD_FAILURE() << "accepted damage to " << field;
        } catch (const RecordFormatError& e) {
            EXPECT_NE(std::string(e.what()).find("'" + field + "'"), std::string::npos) << e.what();
        }
    };
    OrderedJson a = j;
    a["volumes"][0]["kept"] = "two";
    expect_field(a, "kept");
    OrderedJson b = j;
    b["volumes"][0].erase("dtype");
    expect_field(b, "dtype");
    OrderedJson c = j;
    c["volumes"][0]["dtype"] = "complex128";
    expect_field(c, "dtype");
    OrderedJson d = j;
    d["volumes"][0]["size"][2] = 7;
    expect_field(d, "slices");
    OrderedJson e = j;
    e["errors"] = 5;
    expect_field(e, "errors");
    OrderedJson f = j;
    f["volumes"][0]["slices"][0]["index"] = -1;
    expect_field(f, "index");
    // List elements are checked like scalars: nlohmann would turn 1e30 or -5 into some
    // size_t (1e30: undefined behaviour).
    for (const OrderedJson& bad : {OrderedJson(1e30), OrderedJson(-5), OrderedJson(2.5), OrderedJson("4")}) {
        OrderedJson g = j;
        g["volumes"][0]["size"][0] = bad;
        expect_field(g, "size");
    }
    OrderedJson h = j;
    h["volumes"][0]["slices"][0]["match"] = OrderedJson::parse("18446744073709551616");  // 2^64, a float to nlohmann
    expect_field(h, "match");
}

TEST(RunRecord, NumbersOutsideTheirFieldsTypeNameTheField) {
    auto expect_field = [](const OrderedJson& bad, const std::string& field) {
        try {
            run_parameters_from_json(bad);
            ADD_FAILURE() << "accepted " << bad[field].dump() << " for " << field;
        } catch (const RecordFormatError& e) {
            EXPECT_NE(std::string(e.what()).find("'" + field + "'"), std::string::npos) << e.what();
        }
    };
    OrderedJson a = to_json(parameters("everyn"));
    a["every"] = std::int64_t{1} << 40;  // nlohmann would wrap it into an int
    expect_field(a, "every");
    OrderedJson b = to_json(parameters("deepnet"));
    b["input_size"] = {1e300, 192};  // to an int: undefined behaviour
    expect_field(b, "input_size");
    OrderedJson c = to_json(parameters("deepnet"));
    c["mean"] = {0.5, "0.5", 0.5};
    expect_field(c, "mean");
    OrderedJson d = to_json(parameters("deepnet"));
    d["embedding_size"] = -1;
    expect_field(d, "embedding_size");
}

TEST(RunRecord, MismatchNamesTheFirstDifferingKey) {
    RunFile a;
    a.version = "0.1.0";
    a.parameters = parameters("hash");
    RunFile b = a;
    EXPECT_EQ(run_mismatch(a, b), "");
    b.parameters.threshold = 8.0;
    EXPECT_EQ(run_mismatch(a, b), "parameters.threshold: 6 vs 8");
    b = a;
    b.shard = ShardInfo{1, 2, 10, "x", {}};
    EXPECT_NE(run_mismatch(a, b).find("shard"), std::string::npos);
    // The shard's list of sources is bookkeeping, not identity.
    RunFile c = b;
    c.shard->sources = {"other"};
    EXPECT_EQ(run_mismatch(b, c), "");
}

TEST(RunRecord, CsvFieldsQuotedOnlyWhereNeeded) {
    EXPECT_EQ(csv_field("plain"), "plain");
    EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
    EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
    // Formula injection: the cell is shown as text, not run.
    EXPECT_EQ(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    EXPECT_EQ(csv_field("+1"), "'+1");
    EXPECT_EQ(csv_field("-cmd|' /C calc'!A0"), "'-cmd|' /C calc'!A0");
    EXPECT_EQ(csv_field("@SUM(A1)"), "'@SUM(A1)");
    EXPECT_EQ(csv_field("a=b"), "a=b");
}

}  // namespace
}  // namespace lessmore
