// lessmore's Python extension (docs/python.md): as thin as apps/ — keyword arguments become
// the option model's values (bridge.cpp), the library does the work, results come back as
// Python objects (the JSON the CLI prints, parsed by the package, or NumPy arrays).
#include <lessmore/compare.hpp>
#include <lessmore/error.hpp>
#include <lessmore/info.hpp>
#include <lessmore/library_setup.hpp>
#include <lessmore/manifest.hpp>
#include <lessmore/options.hpp>
#include <lessmore/reduce.hpp>
#include <lessmore/reduce_volume.hpp>
#include <lessmore/run_data.hpp>
#include <lessmore/split.hpp>
#include <lessmore/sweep.hpp>
#include <lessmore/volume.hpp>

#include "bridge.hpp"
#include "embed_runner.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>

namespace py = pybind11;

namespace lessmore::python {
namespace {

// --- commands over files ------------------------------------------------------------------

std::string reduce_py(const py::dict& kwargs, const py::object& progress, const std::string& decoder,
                      const py::object& embed) {
    ReduceConfig c = reduce_config(option_values("reduce", kwargs));
    c.command_line = {"lessmore.reduce"};  // the manifest's "command" (the CLI records its argv)
    c.decoder_program = decoder;
    const auto runner = attach_embed(c.metric, embed);
    std::optional<ReduceResult> result;
    run_with_embed(runner, [&] {
        run_reporting([&](ProgressSink& sink, const CancelToken& cancel) { result = reduce(c, sink, cancel); },
                      progress);
    });
    return summary_json(*result);
}

std::string info_py(const py::dict& kwargs, const py::object& progress, const std::string& decoder) {
    InfoConfig config = info_config(option_values("info", kwargs));
    config.decoder_program = decoder;
    std::optional<InfoResult> result;
    run_reporting([&](ProgressSink& sink, const CancelToken& cancel) { result = inspect(config, sink, cancel); },
                  progress);
    return volumes_json(*result);
}

std::string sweep_py(const py::dict& kwargs, const py::object& progress, const std::string& decoder,
                     const py::object& embed) {
    SweepConfig config = sweep_config(option_values("sweep", kwargs));
    config.decoder_program = decoder;
    const auto runner = attach_embed(config.metric, embed);
    std::optional<SweepResult> result;
    run_with_embed(runner, [&] {
        run_reporting([&](ProgressSink& sink, const CancelToken& cancel) { result = sweep(config, sink, cancel); },
                      progress);
    });
    return sweep_json(*result);
}

// lessmore split: the datalist written as the CLI writes it; (the summary SPLITS.json holds,
// as text for json.loads; the JSON path; the CSV path).
py::tuple split_py(const py::dict& kwargs, const py::object& progress) {
    const SplitConfig config = split_config(option_values("split", kwargs));
    SplitResult r;
    run_reporting([&](ProgressSink&, const CancelToken& cancel) { r = split_run(config, cancel); }, progress);
    return py::make_tuple(r.summary, r.json_path, r.csv_path);
}

// What `lessmore compare --json` prints (compare_json), as text for json.loads.
std::string compare_py(const py::dict& kwargs) {
    const CompareConfig config = compare_config(option_values("compare", kwargs));
    CompareResult r;
    {
        const py::gil_scoped_release release;
        r = compare_runs(config);
    }
    return compare_json(r, config);
}

std::string run_py(const std::string& out, int threads) {
    std::string text;
    run_reporting([&](ProgressSink&, const CancelToken& cancel) { text = run_json(out, threads, cancel); }, py::none());
    return text;
}

// A volume's voxels as a (Z, Y, X) array of its voxel type (a copy).
template <typename T>
py::array copy_voxels(const Volume& v) {
    const VolumeInfo& info = v.info();
    py::array_t<T> a({static_cast<py::ssize_t>(v.slice_count()), static_cast<py::ssize_t>(info.height),
                      static_cast<py::ssize_t>(info.width)});
    for (std::size_t k = 0; k < v.slice_count(); ++k)
        std::memcpy(a.mutable_data(static_cast<py::ssize_t>(k)), v.slice(k).data, info.slice_bytes());
    return a;
}

py::array voxels_array(const Volume& v) {
    switch (v.info().type) {
    case VoxelType::UInt8:
        return copy_voxels<std::uint8_t>(v);
    case VoxelType::Int16:
        return copy_voxels<std::int16_t>(v);
    case VoxelType::UInt16:
        return copy_voxels<std::uint16_t>(v);
    case VoxelType::Int32:
        return copy_voxels<std::int32_t>(v);
    case VoxelType::Float32:
        return copy_voxels<float>(v);
    case VoxelType::Float64:
        return copy_voxels<double>(v);
    }
    throw lessmore::Error("unknown voxel type");
}

py::object z_of(const SliceInfo& s) { return s.z ? py::object(py::float_(*s.z)) : py::object(py::none()); }

py::dict geometry_of(const VolumeInfo& info) {
    py::dict g;
    g["id"] = info.id;
    g["source"] = info.source;
    g["format"] = info.format;
    g["spacing"] = py::make_tuple(info.spacing[0], info.spacing[1], info.spacing[2]);
    g["dtype"] = voxel_type_name(info.type);
    return g;
}

// One slice's source voxels: (array Y x X in the voxel type, geometry dict).
py::tuple source_slice_py(const std::string& out, const std::string& id, std::size_t index,
                          const std::string& decoder) {
    std::optional<Volume> v;
    run_reporting([&](ProgressSink&, const CancelToken& cancel) { v = source_slice(out, id, index, decoder, cancel); },
                  py::none());
    const VolumeInfo& info = v->info();
    py::dict g = geometry_of(info);
    g["z"] = z_of(info.slices[0]);
    g["file"] = info.slices[0].file;
    return py::make_tuple(voxels_array(*v)[py::int_(0)], g);
}

// One unit's source voxels: (array Z x Y x X in the voxel type, geometry dict).
py::tuple source_block_py(const std::string& out, const std::string& id, const std::array<int, 3>& origin,
                          const std::array<int, 3>& size, const std::string& decoder) {
    std::optional<Volume> v;
    run_reporting(
        [&](ProgressSink&, const CancelToken& cancel) { v = source_block(out, id, origin, size, decoder, cancel); },
        py::none());
    const VolumeInfo& info = v->info();
    py::dict g = geometry_of(info);
    g["origin"] = py::make_tuple(origin[0], origin[1], origin[2]);
    g["size"] = py::make_tuple(size[0], size[1], size[2]);
    py::list z;
    py::list files;
    py::list positions;
    for (const SliceInfo& s : info.slices) {
        z.append(z_of(s));
        files.append(s.file);
        positions.append(s.position ? py::object(py::make_tuple((*s.position)[0], (*s.position)[1], (*s.position)[2]))
                                    : py::object(py::none()));
    }
    g["z"] = py::tuple(z);
    g["files"] = py::tuple(files);
    g["positions"] = py::tuple(positions);
    return py::make_tuple(voxels_array(*v), g);
}

// --- arrays -------------------------------------------------------------------------------

// The voxel type the CLI keeps for a NIfTI of this dtype (docs/dicom.md, section "Value
// model": the narrowest type that holds every value) and the array converted to it.
template <typename T>
py::array c_array(const py::array& a) {
    return py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(a);
}

std::pair<VoxelType, py::array> voxels_of(const py::array& a, const char* name) {
    const py::dtype dt = a.dtype();
    const char kind = dt.kind();
    const auto size = dt.itemsize();
    if (kind == 'u' && size == 1) return {VoxelType::UInt8, c_array<std::uint8_t>(a)};
    if ((kind == 'i' && size <= 2) || (kind == 'u' && size == 1)) return {VoxelType::Int16, c_array<std::int16_t>(a)};
    if (kind == 'u' && size == 2) return {VoxelType::UInt16, c_array<std::uint16_t>(a)};
    if (kind == 'i' && size == 4) return {VoxelType::Int32, c_array<std::int32_t>(a)};
    if (kind == 'f' && size <= 4) return {VoxelType::Float32, c_array<float>(a)};
    if (kind == 'f' || kind == 'i' || kind == 'u') return {VoxelType::Float64, c_array<double>(a)};
    throw py::type_error(std::string(name) + ": expected an integer or float array, got dtype " +
                         py::str(static_cast<const py::handle&>(dt)).cast<std::string>());
}

// A (Z, Y, X) array (or (Y, X) as one slice) as a Volume that reads the voxels where they
// are: an array already C-contiguous in the kept type (the usual int16 or float CT volume) is
// not copied at all; any other array (a strided view, another dtype) is converted once by
// NumPy. `voxels` holds that array, so it lives as long as the Volume reading it.
struct ArrayVolume {
    py::array voxels;
    Volume volume;
};

ArrayVolume volume_of(const py::array& array, const char* name) {
    py::array a = array;
    if (a.ndim() == 2) a = a.attr("reshape")(py::make_tuple(1, a.shape(0), a.shape(1)));
    if (a.ndim() != 3) {
        throw py::value_error(std::string(name) + ": expected a 3-D array (Z, Y, X), got " +
                              std::to_string(array.ndim()) + "-D");
    }
    if (a.shape(1) > std::numeric_limits<int>::max() || a.shape(2) > std::numeric_limits<int>::max())
        throw py::value_error(std::string(name) + ": slices too large");
    auto [type, data] = voxels_of(a, name);
    VolumeInfo info;
    info.id = name;
    info.source = std::string("<") + name + ">";
    info.format = "array";
    info.width = static_cast<int>(a.shape(2));
    info.height = static_cast<int>(a.shape(1));
    info.type = type;
    const auto z = static_cast<std::size_t>(a.shape(0));
    info.slices.resize(z);
    const std::size_t slice_bytes = info.slice_bytes();
    // NumPy's C-contiguous need not be aligned (np.frombuffer at an odd offset): copy those.
    if (reinterpret_cast<std::uintptr_t>(data.data()) % voxel_size(type) != 0) data = data.attr("copy")();
    ArrayVolume out{data, Volume(std::move(info))};
    if (slice_bytes == 0) {  // no voxels to lend: empty slices of their own
        out.volume.add_chunk(Bytes(), z);
        return out;
    }
    const auto* first = static_cast<const std::byte*>(data.data());
    for (std::size_t k = 0; k < z; ++k) out.volume.add_borrowed_slice(first + k * slice_bytes);
    return out;
}

// --unit slab|patch: the units' decisions as arrays (index, origin and size N x 3 (z, y, x),
// kept, match (-1: none), score (NaN: none)), the resolved unit, the dropped units' boxes and
// why no unit fits (None when one does).
py::dict units_dict(const VolumeDecisions& d) {
    const auto n = static_cast<py::ssize_t>(d.units.size());
    py::array_t<std::int64_t> index(n);
    py::array_t<std::int64_t> origin({n, py::ssize_t{3}});
    py::array_t<std::int64_t> size({n, py::ssize_t{3}});
    py::array_t<bool> kept(n);
    py::array_t<std::int64_t> match(n);
    py::array_t<double> score(n);
    auto ix = index.mutable_unchecked<1>();
    auto o = origin.mutable_unchecked<2>();
    auto sz = size.mutable_unchecked<2>();
    auto k = kept.mutable_unchecked<1>();
    auto mt = match.mutable_unchecked<1>();
    auto sc = score.mutable_unchecked<1>();
    for (py::ssize_t i = 0; i < n; ++i) {
        const UnitDecision& u = d.units[static_cast<std::size_t>(i)];
        ix(i) = static_cast<std::int64_t>(u.index);
        for (py::ssize_t a = 0; a < 3; ++a) {
            o(i, a) = u.origin[static_cast<std::size_t>(a)];
            sz(i, a) = u.size[static_cast<std::size_t>(a)];
        }
        k(i) = u.kept;
        mt(i) = u.match ? static_cast<std::int64_t>(*u.match) : -1;
        sc(i) = u.score ? *u.score : std::numeric_limits<double>::quiet_NaN();
    }
    py::list dropped;
    for (const UnitBox& b : d.dropped_units) {
        py::dict box;
        box["origin"] = py::make_tuple(b.origin[0], b.origin[1], b.origin[2]);
        box["size"] = py::make_tuple(b.size[0], b.size[1], b.size[2]);
        dropped.append(box);
    }
    py::dict out;
    out["index"] = index;
    out["origin"] = origin;
    out["size"] = size;
    out["kept"] = kept;
    out["match"] = match;
    out["score"] = score;
    out["unit"] = d.unit;
    out["dropped"] = dropped;
    out["skipped"] = d.skipped ? py::object(py::str(*d.skipped)) : py::object(py::none());
    return out;
}

py::dict reduce_array_py(const py::array& array, const py::dict& kwargs, const py::object& embed) {
    ReduceConfig config = reduce_config(option_values("reduce", kwargs));
    const auto runner = attach_embed(config.metric, embed);
    const ArrayVolume lent = volume_of(array, "volume");
    const Volume& volume = lent.volume;
    VolumeDecisions d;
    if (runner) {
        // The callable runs on the engine's workers, which take the GIL: the calling thread
        // waits without it and watches for Ctrl-C, as reduce does.
        run_with_embed(runner, [&] {
            run_reporting(
                [&](ProgressSink& sink, const CancelToken& cancel) { d = reduce_volume(config, volume, sink, cancel); },
                py::none());
        });
    } else {
        const py::gil_scoped_release release;
        NullProgress quiet;
        const CancelToken never;
        d = reduce_volume(config, volume, quiet, never);
    }
    const auto n = static_cast<py::ssize_t>(d.slices.size());
    py::array_t<bool> mask(n);
    py::array_t<std::int64_t> match(n);
    py::array_t<double> score(n);
    py::list features;
    auto m = mask.mutable_unchecked<1>();
    auto mt = match.mutable_unchecked<1>();
    auto sc = score.mutable_unchecked<1>();
    for (py::ssize_t i = 0; i < n; ++i) {
        const SliceDecision& s = d.slices[static_cast<std::size_t>(i)];
        m(i) = s.kept;
        mt(i) = s.match ? static_cast<std::int64_t>(*s.match) : -1;
        sc(i) = s.score ? *s.score : std::numeric_limits<double>::quiet_NaN();
        features.append(s.description ? py::object(py::str(*s.description)) : py::object(py::none()));
    }
    py::dict out;
    out["mask"] = mask;
    out["match"] = match;
    out["score"] = score;
    out["features"] = features;
    out["pairs"] = d.pairs;
    if (config.unit.kind != UnitSpec::Kind::Slice) out["units"] = units_dict(d);
    return out;
}

py::list features_py(const py::array& array, const py::dict& kwargs) {
    const ReduceConfig config = reduce_config(option_values("reduce", kwargs));
    const ArrayVolume lent = volume_of(array, "slices");
    const Volume& volume = lent.volume;
    std::vector<std::string> texts;
    {
        const py::gil_scoped_release release;
        const CancelToken never;
        texts = describe_slices(config, volume, never);
    }
    py::list out;
    for (const std::string& t : texts) out.append(t);
    return out;
}

// The option model as Python sees it: each command's keywords, with their help.
py::dict options_py() {
    py::dict out;
    for (const CommandSpec& c : command_specs()) {
        py::list options;
        for (const OptionSpec& s : c.options) {
            if (s.cli_only) continue;
            py::dict o;
            o["key"] = s.key;
            o["option"] = s.display_name();
            o["help"] = s.help;
            o["default"] = s.default_text;
            o["flag"] = s.type == ValueType::Flag || s.type == ValueType::Count;
            o["positional"] = s.positional;
            o["required"] = s.required;
            py::list choices;
            for (const std::string& ch : s.choices) choices.append(ch);
            o["choices"] = choices;
            options.append(o);
        }
        out[py::str(c.name)] = options;
    }
    return out;
}

}  // namespace
}  // namespace lessmore::python

PYBIND11_MODULE(_lessmore, m) {
    using namespace lessmore::python;
    m.doc() = "lessmore's engine (use the lessmore package, docs/python.md)";
    lessmore::configure_libraries();
    // The CLI's exit classes: usage (exit 2) and input errors (exit 1), each its own type.
    static py::exception<lessmore::Error> error(m, "Error", PyExc_RuntimeError);
    static py::exception<lessmore::InputError> input_error(m, "InputError", error.ptr());
    static py::exception<lessmore::UsageError> usage_error(m, "UsageError", PyExc_ValueError);
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const lessmore::Interrupted&) {
            PyErr_SetNone(PyExc_KeyboardInterrupt);
        } catch (const lessmore::UsageError& e) {
            usage_error(e.what());
        } catch (const lessmore::InputError& e) {
            input_error(e.what());
        } catch (const lessmore::Error& e) {
            error(e.what());
        }
    });
    m.def("version", [] { return std::string(lessmore::version()); });
    m.def("options", &options_py);
    m.def("reduce", &reduce_py, py::arg("kwargs"), py::arg("progress"), py::arg("decoder"),
          py::arg("embed") = py::none());
    m.def("info", &info_py, py::arg("kwargs"), py::arg("progress"), py::arg("decoder"));
    m.def("sweep", &sweep_py, py::arg("kwargs"), py::arg("progress"), py::arg("decoder"),
          py::arg("embed") = py::none());
    m.def("compare", &compare_py, py::arg("kwargs"));
    m.def("split", &split_py, py::arg("kwargs"), py::arg("progress"));
    m.def("run_json", &run_py, py::arg("out"), py::arg("threads"));
    m.def("source_slice", &source_slice_py, py::arg("out"), py::arg("id"), py::arg("index"), py::arg("decoder"));
    m.def("source_block", &source_block_py, py::arg("out"), py::arg("id"), py::arg("origin"), py::arg("size"),
          py::arg("decoder"));
    m.def("reduce_array", &reduce_array_py, py::arg("volume"), py::arg("kwargs"), py::arg("embed") = py::none());
    m.def("features", &features_py, py::arg("slices"), py::arg("kwargs"));
}
