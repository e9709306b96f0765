// libFuzzer target: the readers of lessmore's own JSON (pipeline/run_record.hpp): run.json
// (run_file_from_json, run_parameters_from_json for a manifest's "parameters") and a
// source record (source_record_from_json), parsed as OutputStore reads them; and the
// manifest reader of `lessmore compare` (compare_runs over OUT/manifest.json). The input is
// one JSON text, tried as each. Properties: no sanitizer report; only RecordFormatError
// (records) or UsageError (compare) comes out, naming the field in one line; what the
// readers accept, written back by lessmore's writers, reads back the same; a run compared
// with itself is identical.
#include "fuzz_support.hpp"

#include "pipeline/run_record.hpp"

#include <lessmore/compare.hpp>
#include <lessmore/error.hpp>

namespace {

using namespace lessmore;
namespace fs = std::filesystem;

void run_file(const OrderedJson& j) {
    try {
        const RunFile r = run_file_from_json(j);
        const OrderedJson written = to_json(r);
        const RunFile again = run_file_from_json(written);
        LESSMORE_FUZZ_CHECK(run_mismatch(r, again).empty());
        LESSMORE_FUZZ_CHECK(dump_json(to_json(again)) == dump_json(written));
    } catch (const RecordFormatError& e) {
        fuzz::check_message(e.what());
    }
    // A manifest's "parameters" (and a run.json's) on their own.
    if (j.is_object() && j.contains("parameters")) {
        try {
            const RunParameters p = run_parameters_from_json(j["parameters"]);
            const RunParameters again = run_parameters_from_json(to_json(p));
            LESSMORE_FUZZ_CHECK(to_json(again) == to_json(p));
        } catch (const RecordFormatError& e) {
            fuzz::check_message(e.what());
        }
    }
}

void source_record(const OrderedJson& j) {
    try {
        const SourceRecord r = source_record_from_json(j);
        const std::string written = dump_json(to_json(r));
        const SourceRecord again = source_record_from_json(OrderedJson::parse(written));
        LESSMORE_FUZZ_CHECK(dump_json(to_json(again)) == written);
    } catch (const RecordFormatError& e) {
        fuzz::check_message(e.what());
    }
}

void manifest(const std::uint8_t* data, std::size_t size) {
    static const fs::path run = [] {
        const fs::path dir = fuzz::scratch() / "run";
        fs::create_directories(dir);
        return dir;
    }();
    fuzz::write_file(run / "manifest.json", data, size);
    try {
        const CompareResult r = compare_runs({run.string(), run.string(), std::nullopt});
        LESSMORE_FUZZ_CHECK(r.identical && r.changed == 0 && r.only_in_a.empty() && r.only_in_b.empty());
    } catch (const UsageError& e) {
        fuzz::check_message(e.what());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // As OutputStore::read_json parses a record: no exceptions, a discarded value when invalid.
    const OrderedJson j = OrderedJson::parse(data, data + size, nullptr, false);
    if (!j.is_discarded()) {
        run_file(j);
        source_record(j);
    }
    manifest(data, size);
    return 0;
}
