// The typed record of a run: every field survives JSON and back, the manifest's key order
// is fixed, and damage is reported naming the field (never nlohmann's own message).
#include "test_support.hpp"

#include <lessmore/manifest.hpp>

#include "pipeline/run_record.hpp"

#include <algorithm>
#include <set>

#include <functional>

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

// A 3-D model's depth (docs/models.md, section "3-D models"): a number or "any", absent
// for a 2-D model (as in records made before it); anything else names the field.
TEST(RunRecord, ModelDepthRoundTrips) {
    for (const int depth : {0, 8, k_any_depth}) {
        RunParameters p = parameters("deepnet");
        p.model->depth = depth;
        p.unit = "patch:8,48,48:8,40,40";
        const OrderedJson j = to_json(p);
        EXPECT_EQ(j.contains("depth"), depth != 0);
        const RunParameters back = run_parameters_from_json(j);
        EXPECT_EQ(back.model->depth, depth);
        EXPECT_EQ(to_json(back), j);
        // A merge tries a model of any depth on the run's unit depth again.
        EXPECT_EQ(back.metric_options().model.unit_depth, depth == 0 ? 0 : 8);
    }
    OrderedJson bad = to_json(parameters("deepnet"));
    for (const OrderedJson& v : {OrderedJson("some"), OrderedJson(0), OrderedJson(2.5)}) {
        bad["depth"] = v;
        try {
            run_parameters_from_json(bad);
            ADD_FAILURE() << "accepted depth " << v.dump();
        } catch (const RecordFormatError& e) {
            EXPECT_NE(std::string(e.what()).find("'depth'"), std::string::npos) << e.what();
        }
    }
}

// The export mode: recorded as written, intensity with --intensity minmax as minmax (the
// same files); a record from before --export-values existed reads as what it wrote; an
// unknown mode names the field.
TEST(RunRecord, ExportValuesRecordedResolvedAndDefaulted) {
    RunParameters p = parameters("hash");
    p.export_values = ExportValues::from_string("window:-600,1500").value();
    OrderedJson j = to_json(p);
    EXPECT_EQ(j["export_values"], "window:-600,1500");
    EXPECT_EQ(run_parameters_from_json(j).export_values.width, 1500.0);
    j.erase("export_values");
    EXPECT_EQ(run_parameters_from_json(j).export_values.kind, ExportValues::Kind::Intensity);  // window:40.5,400
    j["intensity"] = "minmax";
    EXPECT_EQ(run_parameters_from_json(j).export_values.kind, ExportValues::Kind::MinMax);
    ReduceConfig c;  // --intensity minmax, no --export-values: recorded as minmax
    EXPECT_EQ(RunParameters::of(c, nullptr).export_values.to_string(), "minmax");
    c.intensity = IntensityMapping::from_string("window:40,400").value();
    EXPECT_EQ(RunParameters::of(c, nullptr).export_values.to_string(), "intensity");
    j["export_values"] = "hu16";
    try {
        run_parameters_from_json(j);
        ADD_FAILURE() << "accepted export_values hu16";
    } catch (const RecordFormatError& e) {
        EXPECT_NE(std::string(e.what()).find("'export_values'"), std::string::npos) << e.what();
    }
}

TEST(RunRecord, ParameterKeysInManifestOrder) {
    std::vector<std::string> keys;
    const OrderedJson mi = to_json(parameters("mi"));  // named: items() of a temporary would dangle
    for (const auto& [k, v] : mi.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"inputs", "method", "threshold", "fraction", "every", "neighbours",
                                              "strategy", "order", "include_localizers", "intensity", "resize", "bins",
                                              "format", "export_values", "flat", "scope", "patient_depth"}));
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
    v.info.orientation = std::array<double, 6>{1, 0, 0, 0, 0.9961947, -0.0871557};
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
            s.output = "slices/patients/p1@2/" + std::to_string(i) + ".png";
            s.output_npy = "slices/patients/p1@2/" + std::to_string(i) + ".npy";
        }
        v.info.slices.push_back({s.file, s.z, std::array<double, 3>{-120.5, 33.25, s.z.value_or(0.0)}});
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
    // Geometry comes back as it went (the manifest is written from records only).
    EXPECT_EQ(back.volumes[0].info.orientation, r.volumes[0].info.orientation);
    for (std::size_t k = 0; k < 3; ++k)
        EXPECT_EQ(back.volumes[0].info.slices[k].position, r.volumes[0].info.slices[k].position) << k;
}

TEST(RunRecord, ManifestViewHasEveryFieldOnEveryVolumeAndSlice) {
    SourceRecord r = source_record();
    VolumeRecord& v = r.volumes[0];
    v.info.patient = "0123456789abcdef";
    v.info.series = "fedcba9876543210";
    const OrderedJson m = to_json(v, RecordView::Manifest, 2);
    std::vector<std::string> keys;
    for (const auto& [key, value] : m.items()) keys.push_back(key);
    EXPECT_EQ(keys, (std::vector<std::string>{"id", "source", "format", "patient", "study", "series", "size", "spacing",
                                              "orientation", "dtype", "kept", "pairs", "seconds", "slices"}));
    EXPECT_EQ(m["patient"], "patient:0123456789abcdef");  // the key --scope patient groups by
    EXPECT_TRUE(m["study"].is_null());
    EXPECT_EQ(m["series"], "fedcba9876543210");
    EXPECT_EQ(m["orientation"], OrderedJson({1, 0, 0, 0, 0.9961947, -0.0871557}));
    for (const OrderedJson& s : m["slices"]) {
        keys.clear();
        for (const auto& [key, value] : s.items()) keys.push_back(key);
        EXPECT_EQ(keys, (std::vector<std::string>{"index", "file", "z", "position", "kept", "match", "match_volume",
                                                  "score", "hash", "output", "output_png", "output_npy"}));
    }
    const OrderedJson& kept = m["slices"][0];
    EXPECT_EQ(kept["output"], "slices/patients/p1@2/0.png");
    EXPECT_EQ(kept["output_png"], "slices/patients/p1@2/0.png");
    EXPECT_EQ(kept["output_npy"], "slices/patients/p1@2/0.npy");
    EXPECT_EQ(kept["position"], OrderedJson({-120.5, 33.25, 0.0}));
    const OrderedJson& removed = m["slices"][1];
    EXPECT_TRUE(removed["output"].is_null() && removed["output_png"].is_null() && removed["output_npy"].is_null());
    EXPECT_TRUE(removed["z"].is_null());
    // Without a PatientID the patient is the first `depth` folder levels of the id.
    v.info.patient.clear();
    EXPECT_EQ(to_json(v, RecordView::Manifest, 2)["patient"], "folder:patients/p1");
    EXPECT_EQ(to_json(v, RecordView::Manifest, 1)["patient"], "folder:patients");
    // An NPY-only run: output is the NPY, output_png empty.
    for (SliceRecord& s : v.slices) {
        if (!s.kept) continue;
        s.output = s.output_npy;
        s.output_npy.clear();
    }
    const OrderedJson npy = to_json(v, RecordView::Manifest)["slices"][2];
    EXPECT_EQ(npy["output"], "slices/patients/p1@2/2.npy");
    EXPECT_TRUE(npy["output_png"].is_null());
    EXPECT_EQ(npy["output_npy"], "slices/patients/p1@2/2.npy");
}

TEST(RunRecord, CsvRowsRepeatTheVolumeAndTypeTheirNumbers) {
    EXPECT_EQ(manifest_csv_header(),
              "volume,index,file,z,kept,match,match_volume,score,hash,output,output_npy,output_png,source,format,"
              "patient,study,series,dtype,position_x,position_y,position_z,row_cosine_x,row_cosine_y,row_cosine_z,"
              "column_cosine_x,column_cosine_y,column_cosine_z,column_spacing,row_spacing,slice_spacing,png_offset\n");
    const OrderedJson m = to_json(source_record().volumes[0], RecordView::Manifest, 1);
    const std::string rows = manifest_csv_rows(m);
    EXPECT_EQ(rows,
              "patients/p1#2,0,I0,0.0,true,,,,00ff00ff00ff00ff,slices/patients/p1@2/0.png,slices/patients/p1@2/0.npy,"
              "slices/patients/p1@2/0.png,in/patients/p1,dicom,folder:patients,,,uint16,-120.5,33.25,0.0,"
              "1.0,0.0,0.0,0.0,0.9961947,-0.0871557,0.5,0.5,2.5,\n"
              "patients/p1#2,1,I1,,false,0,,3,00ff00ff00ff00ff,,,,in/patients/p1,dicom,folder:patients,,,uint16,"
              "-120.5,33.25,0.0,1.0,0.0,0.0,0.0,0.9961947,-0.0871557,0.5,0.5,2.5,\n"
              "patients/p1#2,2,I2,-24.5,true,,,,00ff00ff00ff00ff,slices/patients/p1@2/2.png,slices/patients/p1@2/2.npy,"
              "slices/patients/p1@2/2.png,in/patients/p1,dicom,folder:patients,,,uint16,-120.5,33.25,-24.5,"
              "1.0,0.0,0.0,0.0,0.9961947,-0.0871557,0.5,0.5,2.5,\n");
}

// Names under slices/ (docs/output.md, section "Slice file names").
TEST(RunRecord, SliceFileNamesSuitTools) {
    EXPECT_EQ(slice_output_path("a/b", 7, 10, "png", false), "slices/a/b/7.png");
    EXPECT_EQ(slice_output_path("a/b", 7, 134, "png", false), "slices/a/b/007.png");
    EXPECT_EQ(slice_output_path("a/b", 7, 134, "npy", true), "slices/a%2Fb_007.npy");
    EXPECT_EQ(slice_output_path("data/abdomen.nii.gz", 3, 12, "png", false), "slices/data/abdomen.nii.gz.d/03.png");
    EXPECT_EQ(slice_output_path("data/abdomen.nii.gz", 3, 12, "png", true), "slices/data%2Fabdomen.nii.gz.d_03.png");
    EXPECT_EQ(slice_output_path("P1/CT#2", 0, 1, "png", false), "slices/P1/CT@2/0.png");
    EXPECT_EQ(slice_output_path("P1/CT.MHA", 0, 1, "png", false), "slices/P1/CT.MHA.d/0.png");
    EXPECT_EQ(slice_output_path("user@host/x", 0, 1, "png", false), "slices/user%40host/x/0.png");
    EXPECT_EQ(slice_output_path("x.nii.d", 0, 1, "png", false), "slices/x.nii.d.d/0.png");
    EXPECT_EQ(slice_output_path("a/0000.png", 0, 1, "png", false), "slices/a/0000.png.d/0.png");
    EXPECT_EQ(slice_output_path("a/b%23c#d", 0, 1, "png", false), "slices/a/b%23c@d/0.png");

    // Distinct ids never share a file, whether nested or flat (ids as io/volume_id.hpp makes
    // them: '%' only in %XX escapes of '%', '#', '+' and bytes a name cannot show).
    const std::vector<std::string> ids = {"a",       "a/b",       "a#b",     "a@b",       "a%23b",      "a.nii",
                                          "a.nii.d", "a.nii.d.d", "a.nii#1", "a.d",       "a/b.nii.gz", "a/b.nii.gz.d",
                                          "a/b#2",   "a/b@2",     "x/0.png", "x/0.png.d", "x",          "P1/CT#2",
                                          "P1/CT@2", "P1/CT",     "a_0",     "a_00"};
    for (const bool flat : {false, true}) {
        std::set<std::string> files;
        for (const std::string& id : ids)
            for (std::size_t i = 0; i < 12; ++i) {
                const std::string path = slice_output_path(id, i, 12, "png", flat);
                EXPECT_TRUE(files.insert(path).second) << path << " named twice";
                EXPECT_EQ(path.find_first_of("#+ "), std::string::npos) << path;
                // No folder ends in an image extension; no folder is named like a slice file.
                for (std::size_t slash = path.find('/'); slash != std::string::npos;
                     slash = path.find('/', slash + 1)) {
                    const std::string folder = path.substr(0, slash);
                    for (const char* ext : {".nii", ".gz", ".png", ".npy", ".mha", ".MHA", ".nrrd", ".dcm"})
                        EXPECT_FALSE(folder.size() > 4 && folder.compare(folder.size() - std::string(ext).size(),
                                                                         std::string(ext).size(), ext) == 0)
                            << path;
                }
            }
        // A file that is another volume's folder: never (file names are digits and an extension).
        for (const std::string& f : files) EXPECT_EQ(files.count(f + "/"), 0u);
    }

    // Names sort in slice order (zero-padded to the volume's slice count), nested and flat.
    for (const bool flat : {false, true}) {
        std::vector<std::string> names;
        for (std::size_t i = 0; i < 1000; ++i) names.push_back(slice_output_path("v#1", i, 1000, "png", flat));
        EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
        EXPECT_EQ(names[5], flat ? "slices/v@1_005.png" : "slices/v@1/005.png");
    }
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

// The one validation of what a record says (pipeline/run_record.hpp): every way a record
// could name another place, or counts that do not add up, is refused naming the field.
TEST(RunRecord, ValidationRefusesWhatLessmoreNeverWrites) {
    const OrderedJson good = to_json(source_record());
    EXPECT_NO_THROW(source_record_from_json(good));
    struct Case {
        const char* field;
        std::function<void(OrderedJson&)> damage;
    };
    auto vol = [](OrderedJson& j) -> OrderedJson& { return j["volumes"][0]; };
    auto slice = [vol](OrderedJson& j, int i) -> OrderedJson& { return vol(j)["slices"][i]; };
    const std::vector<Case> cases = {
        {"source", [](OrderedJson& j) { j["source"] = "../patients/p1"; }},
        {"source", [](OrderedJson& j) { j["source"] = "/patients/p1"; }},
        {"id", [vol](OrderedJson& j) { vol(j)["id"] = "patients/p1/../../x"; }},
        {"id", [vol](OrderedJson& j) { vol(j)["id"] = "patients/p1//x"; }},
        {"id", [vol](OrderedJson& j) { vol(j)["id"] = "patients/p1/./x"; }},
        {"id", [vol](OrderedJson& j) { vol(j)["id"] = "patients/p1/x/"; }},
        {"id", [vol](OrderedJson& j) { vol(j)["id"] = "patients/p1\\..\\x"; }},
        {"id", [vol](OrderedJson& j) { vol(j)["id"] = std::string("patients/p1/a\nb"); }},
        {"id", [vol](OrderedJson& j) { vol(j)["id"] = "patients/p2"; }},    // another source's
        {"id", [vol](OrderedJson& j) { vol(j)["id"] = "patients/p1x"; }},   // not below the source
        {"id", [vol](OrderedJson& j) { j["volumes"].push_back(vol(j)); }},  // twice
        {"output", [slice](OrderedJson& j) { slice(j, 0)["output"] = "/etc/passwd"; }},
        {"output", [slice](OrderedJson& j) { slice(j, 0)["output"] = "slices/../../x.png"; }},
        {"output", [slice](OrderedJson& j) { slice(j, 0)["output"] = "slices//patients/p1@2/0.png"; }},
        {"output", [slice](OrderedJson& j) { slice(j, 0)["output"] = "other/patients/p1@2/0.png"; }},
        {"output", [slice](OrderedJson& j) { slice(j, 0)["output"] = "slices/patients/p1@2/2.png"; }},  // slice 2's
        {"output",
         [slice](OrderedJson& j) { slice(j, 1)["output"] = "slices/patients/p1@2/1.png"; }},  // a removed slice
        {"output_npy", [slice](OrderedJson& j) { slice(j, 0)["output_npy"] = "slices/patients/p1@2/../0.npy"; }},
        {"output_npy", [slice](OrderedJson& j) { slice(j, 0)["output"] = nullptr; }},  // an NPY without its PNG
        {"index", [slice](OrderedJson& j) { slice(j, 2)["index"] = 1; }},
        {"kept", [vol](OrderedJson& j) { vol(j)["kept"] = 3; }},
        {"match", [slice](OrderedJson& j) { slice(j, 1)["match"] = 3; }},  // out of range
        {"match", [slice](OrderedJson& j) { slice(j, 1)["match"] = 1; }},  // itself
        {"match", [slice](OrderedJson& j) { slice(j, 0)["match"] = 2; }},  // on a kept slice
        {"size", [vol](OrderedJson& j) { vol(j)["size"][0] = 1ull << 40; }},
        {"orientation", [vol](OrderedJson& j) { vol(j)["orientation"].erase(5); }},  // 5 numbers
        {"orientation", [vol](OrderedJson& j) { vol(j)["orientation"][0] = "1"; }},
        {"position", [slice](OrderedJson& j) { slice(j, 0)["position"].push_back(1.0); }},  // 4 numbers
        {"position", [slice](OrderedJson& j) { slice(j, 2)["position"] = 2.0; }},
    };
    for (const Case& c : cases) {
        OrderedJson bad = good;
        c.damage(bad);
        try {
            source_record_from_json(bad);
            ADD_FAILURE() << "accepted " << bad.dump();
        } catch (const RecordFormatError& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find(std::string("field '") + c.field + "'"), std::string::npos) << what;
            EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
        }
    }
    // Flat names and NPY-only runs are lessmore's too.
    OrderedJson flat = good;
    for (OrderedJson& s : vol(flat)["slices"]) {
        if (s["output"].is_null()) continue;
        const std::size_t i = s["index"];
        s["output"] = slice_output_path("patients/p1#2", i, 3, "npy", true);
        s.erase("output_npy");
    }
    EXPECT_NO_THROW(source_record_from_json(flat));
}

TEST(RunRecord, MergeJournalRoundTrips) {
    const MergeJournal m{{"/a/s1", "/a/s2"}, true, MergeState::Committed};
    const MergeJournal back = merge_journal_from_json(to_json(m));
    EXPECT_EQ(back.shards, m.shards);
    EXPECT_TRUE(back.move);
    EXPECT_EQ(back.state, MergeState::Committed);
    OrderedJson bad = to_json(m);
    bad["state"] = "half";
    EXPECT_THROW(merge_journal_from_json(bad), RecordFormatError);
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

TEST(RunSummary, OneJsonFormWithTheCrossVolumeCountsOnlyWhenThePassRan) {
    RunSummary s;
    s.volumes = 2;
    s.slices = 56;
    s.kept = 10;
    s.failed = 1;
    s.seconds = 0.5;
    const OrderedJson plain = to_json(s);
    EXPECT_EQ(plain["volumes"], 2);
    EXPECT_EQ(plain["kept"], 10);
    EXPECT_EQ(plain["failed"], 1);
    EXPECT_FALSE(plain.contains("removed_across_volumes"));
    EXPECT_FALSE(plain.contains("duplicate_volumes"));
    // The pass ran and removed nothing: the counts are there, as zeros.
    s.across_volumes = true;
    const OrderedJson across = to_json(s);
    EXPECT_EQ(across["removed_across_volumes"], 0);
    EXPECT_EQ(across["duplicate_volumes"], 0);

    // `--json` prints the same summary object, and the duplicates list only after the pass.
    ReduceResult r;
    r.summary = s;
    r.duplicates.push_back({"b", "a", 1.0});
    r.volumes.push_back({"a", 28, 10, 0, 0.1});
    const auto printed = nlohmann::ordered_json::parse(summary_json(r));
    EXPECT_EQ(printed["summary"], across);
    ASSERT_EQ(printed["duplicates"].size(), 1u);
    EXPECT_EQ(printed["duplicates"][0]["of"], "a");
    r.summary.across_volumes = false;
    EXPECT_FALSE(nlohmann::ordered_json::parse(summary_json(r)).contains("duplicates"));
}

}  // namespace
}  // namespace lessmore
