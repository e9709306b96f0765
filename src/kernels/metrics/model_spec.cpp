#include "kernels/metrics/model_spec.hpp"

#include <lessmore/embedder.hpp>
#include <lessmore/error.hpp>
#include <lessmore/sha256.hpp>

#include "kernels/metrics/bundled_model.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

namespace lessmore {
namespace {

using Json = nlohmann::json;

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
    return s;
}

std::array<double, 3> three(const std::vector<double>& v, const std::string& where, const char* field) {
    if (v.size() == 1) return {v[0], v[0], v[0]};
    if (v.size() == 3) return {v[0], v[1], v[2]};
    throw UsageError(where + ": '" + field + "' must be one number or three (R, G, B)");
}

void check_finite(const std::array<double, 3>& v, const std::string& where, const char* field, bool nonzero) {
    for (double x : v) {
        if (!std::isfinite(x) || (nonzero && x == 0.0)) {
            throw UsageError(where + ": '" + field + "' must be finite" + (nonzero ? " and non-zero" : ""));
        }
    }
}

// "8bit" (false) or "hu" (true).
bool values_kind(const std::string& text, const std::string& where) {
    const std::string v = upper(text);
    if (v != "8BIT" && v != "HU")
        throw UsageError(where + " must be \"8bit\" (the 8-bit image) or \"hu\" (the slice's values)");
    return v == "HU";
}

std::pair<double, double> window_of(const std::vector<double>& v, const std::string& where) {
    if (v.size() != 2 || !std::isfinite(v[0]) || !std::isfinite(v[1]) || !(v[0] < v[1])) {
        throw UsageError(where + " must be two numbers LOW,HIGH with LOW < HIGH");
    }
    return {v[0], v[1]};
}

// A sidecar's JSON object, its fields all known ones; `where` names the file in errors.
Json parse_sidecar(const std::string& text, const std::string& where) {
    Json j;
    try {
        j = Json::parse(text);
    } catch (const Json::parse_error& e) {
        // nlohmann's own text is for programmers; say where the JSON breaks.
        throw UsageError(where + ": not valid JSON (it breaks at byte " + std::to_string(e.byte) + ")");
    }
    if (!j.is_object()) throw UsageError(where + ": must be a JSON object");
    static const std::set<std::string> k_known = {"input_size", "layout", "channel_order", "scale",       "mean",
                                                  "std",        "input",  "output",        "pool",        "channels",
                                                  "values",     "window", "comment",       "description", "depth"};
    for (const auto& [key, value] : j.items()) {
        if (!k_known.count(key)) {
            throw UsageError(where + ": unknown field '" + key +
                             "' (known: input_size, channels, values, window, layout, channel_order, scale, mean, std, "
                             "input, output, pool, depth)");
        }
    }
    return j;
}

// Applies a sidecar's fields to spec; `where` names the file in errors.
void apply_sidecar(const std::string& text, const std::string& where, ModelSpec& spec) {
    const Json j = parse_sidecar(text, where);
    auto numbers = [&](const char* field) {
        const Json& v = j[field];
        std::vector<double> out;
        if (v.is_number()) {
            out.push_back(v.get<double>());
        } else if (v.is_array() && std::all_of(v.begin(), v.end(), [](const Json& x) { return x.is_number(); })) {
            for (const Json& x : v) out.push_back(x.get<double>());
        } else {
            throw UsageError(where + ": '" + std::string(field) + "' must be a number or a list of numbers");
        }
        return out;
    };
    auto text_field = [&](const char* field) {
        if (!j[field].is_string()) throw UsageError(where + ": '" + std::string(field) + "' must be a string");
        return j[field].get<std::string>();
    };
    if (j.contains("input_size")) {
        const auto v = numbers("input_size");
        if (v.empty() || v.size() > 2 ||
            std::any_of(v.begin(), v.end(), [](double x) { return x < 1 || x > 8192 || std::floor(x) != x; })) {
            throw UsageError(where + ": 'input_size' must be a whole number or [width, height], each 1..8192");
        }
        spec.width = static_cast<int>(v[0]);
        spec.height = static_cast<int>(v.size() == 2 ? v[1] : v[0]);
    }
    if (j.contains("scale")) {
        const auto v = numbers("scale");
        if (v.size() != 1 || !std::isfinite(v[0]) || v[0] == 0.0)
            throw UsageError(where + ": 'scale' must be one non-zero number");
        spec.scale = v[0];
    }
    if (j.contains("mean")) spec.mean = three(numbers("mean"), where, "mean");
    if (j.contains("std")) spec.std = three(numbers("std"), where, "std");
    check_finite(spec.mean, where, "mean", false);
    check_finite(spec.std, where, "std", true);
    if (j.contains("channel_order")) {
        const std::string v = upper(text_field("channel_order"));
        if (v != "RGB" && v != "BGR") throw UsageError(where + ": 'channel_order' must be \"RGB\" or \"BGR\"");
        spec.bgr = v == "BGR";
    }
    if (j.contains("layout")) {
        const std::string v = upper(text_field("layout"));
        if (v != "NCHW" && v != "NHWC") throw UsageError(where + ": 'layout' must be \"NCHW\" or \"NHWC\"");
        spec.nhwc = v == "NHWC";
    }
    if (j.contains("input")) spec.input = text_field("input");
    if (j.contains("output")) spec.output = text_field("output");
    if (j.contains("pool")) {
        if (!j["pool"].is_boolean()) throw UsageError(where + ": 'pool' must be true or false");
        spec.pool = j["pool"].get<bool>();
    }
    if (j.contains("channels")) {
        const auto v = numbers("channels");
        if (v.size() != 1 || (v[0] != 1 && v[0] != 3)) throw UsageError(where + ": 'channels' must be 1 or 3");
        spec.channels = static_cast<int>(v[0]);
        spec.channels_given = true;
    }
    if (j.contains("values")) spec.hu = values_kind(text_field("values"), where + ": 'values'");
    if (j.contains("depth")) {
        // A 3-D model (docs/models.md, section "3-D models"): the slices of a unit it takes.
        const Json& v = j["depth"];
        if (v.is_string() && upper(v.get<std::string>()) == "ANY") {
            spec.depth = k_any_depth;
        } else if (v.is_number() && v.get<double>() >= 1 && v.get<double>() <= 4096 &&
                   std::floor(v.get<double>()) == v.get<double>()) {
            spec.depth = static_cast<int>(v.get<double>());
        } else {
            throw UsageError(where + ": 'depth' must be a whole number of slices (1..4096) or \"any\"");
        }
    }
    if (j.contains("window")) spec.window = window_of(numbers("window"), where + ": 'window'");
}

// Flags override the sidecar.
void apply_flags(const ModelOptions& o, ModelSpec& spec) {
    if (o.input_size) {
        if (o.input_size->first < 1 || o.input_size->second < 1 || o.input_size->first > 8192 ||
            o.input_size->second > 8192) {
            throw UsageError("--input-size: width and height must be 1..8192");
        }
        spec.width = o.input_size->first;
        spec.height = o.input_size->second;
    }
    if (o.scale) {
        if (!std::isfinite(*o.scale) || *o.scale == 0.0) throw UsageError("--scale: must be a non-zero number");
        spec.scale = *o.scale;
    }
    if (o.mean) {
        spec.mean = three(*o.mean, "--mean", "mean");
        check_finite(spec.mean, "--mean", "mean", false);
    }
    if (o.std) {
        spec.std = three(*o.std, "--std", "std");
        check_finite(spec.std, "--std", "std", true);
    }
    if (o.channel_order) {
        const std::string v = upper(*o.channel_order);
        if (v != "RGB" && v != "BGR") throw UsageError("--channel-order: must be RGB or BGR");
        spec.bgr = v == "BGR";
    }
    if (o.layout) {
        const std::string v = upper(*o.layout);
        if (v != "NCHW" && v != "NHWC") throw UsageError("--layout: must be NCHW or NHWC");
        spec.nhwc = v == "NHWC";
    }
    if (o.output) spec.output = *o.output;
    if (o.pool) spec.pool = *o.pool;
    if (o.channels) {
        if (*o.channels != 1 && *o.channels != 3) throw UsageError("--channels: must be 1 or 3");
        spec.channels = *o.channels;
        spec.channels_given = true;
    }
    if (o.values) spec.hu = values_kind(*o.values, "--values");
    if (o.window) spec.window = window_of({o.window->first, o.window->second}, "--window");
    if (spec.window && !spec.hu) throw UsageError("--window (or the sidecar's 'window'): only with values \"hu\"");
    if (o.batch < 0 || o.batch > 1024) throw UsageError("--batch: must be from 1 to 1024 (0: automatic)");
    // Single-threaded OpenCV gives the same outputs for any batch (tested); small networks
    // gain from batching, large ones lose (cache), so the default follows the model size.
    spec.batch = o.batch > 0 ? o.batch : (spec.bytes.size() <= (std::size_t{16} << 20) ? 4 : 1);
}

std::string shape_text(const std::vector<std::int64_t>& d) {
    std::string shape;
    for (std::size_t i = 0; i < d.size(); ++i)
        shape += (i ? "x" : "") + (d[i] < 0 ? std::string("?") : std::to_string(d[i]));
    return shape.empty() ? "of unknown shape" : shape;
}

// The model must take one image: N x C x H x W (or N x H x W x C) with C 1 or 3, of the
// channels and input size used; names the input to feed in spec.input. A channel count or
// size given (sidecar, flag) that disagrees with a fixed one in the graph is refused.
void check_input(const ModelOptions& o, ModelSpec& spec) {
    if (spec.graph.inputs.empty()) throw UsageError("--model " + spec.name + ": the graph declares no input");
    const OnnxTensorInfo* input = &spec.graph.inputs.front();
    if (!spec.input.empty()) {
        input = nullptr;
        for (const auto& in : spec.graph.inputs)
            if (in.name == spec.input) input = &in;
        if (!input) throw UsageError("--model " + spec.name + ": no input named '" + spec.input + "'");
    } else if (spec.graph.inputs.size() > 1) {
        throw UsageError("--model " + spec.name + ": the graph has " + std::to_string(spec.graph.inputs.size()) +
                         " inputs; name the image input in the sidecar ('input')");
    }
    const auto& d = input->dims;
    const std::int64_t channels = d.size() == 4 ? (spec.nhwc ? d[3] : d[1]) : 0;
    if (d.size() != 4 || (channels != 1 && channels != 3 && channels >= 0)) {
        throw UsageError("--model " + spec.name + ": input '" + input->name + "' is " + shape_text(d) +
                         "; lessmore needs an image of 1 or 3 channels, N x C x H x W" +
                         (spec.nhwc ? " (NHWC: N x H x W x C)" : ""));
    }
    if (channels > 0) {
        if (spec.channels_given && channels != spec.channels) {
            throw UsageError("--model " + spec.name + ": the graph's input '" + input->name + "' (" + shape_text(d) +
                             ") has " + std::to_string(channels) + " channel" + (channels == 1 ? "" : "s") + " but " +
                             std::to_string(spec.channels) + " are given (--channels or the sidecar's 'channels')");
        }
        spec.channels = static_cast<int>(channels);
    }
    // A fixed spatial size in the graph must agree with the input size used.
    const std::int64_t h = spec.nhwc ? d[1] : d[2], w = spec.nhwc ? d[2] : d[3];
    if ((h > 0 && h != spec.height) || (w > 0 && w != spec.width)) {
        if (!o.input_size && spec.sidecar.empty()) {
            spec.width = static_cast<int>(w > 0 ? w : spec.width);
            spec.height = static_cast<int>(h > 0 ? h : spec.height);
        } else {
            throw UsageError("--model " + spec.name + ": the graph's input is " + std::to_string(w) + "x" +
                             std::to_string(h) + " but the input size given is " + std::to_string(spec.width) + "x" +
                             std::to_string(spec.height));
        }
    }
    spec.input = input->name;
}

}  // namespace

ModelSpec resolve_model(const ModelOptions& o) {
    ModelSpec spec;
    if (o.path.empty() && o.runner) {
        // A caller's function (the Python package's embed=): no file, no sidecar. It is
        // given what the paper's ResNet50 took, torchvision's ImageNet preprocessing of the
        // 8-bit slice, unless flags say otherwise (docs/models.md, section "From Python: a
        // callback as the model").
        spec.name = o.runtime.empty() ? o.runner->runtime() : o.runtime;
        spec.scale = 1.0 / 255.0;
        spec.mean = {0.485, 0.456, 0.406};
        spec.std = {0.229, 0.224, 0.225};
    } else if (o.path.empty()) {
        spec.name = std::string("bundled:") + k_bundled_model_name;
        spec.bytes = std::string(bundled_model_onnx());
        spec.sidecar = "bundled";
        apply_sidecar(std::string(bundled_model_sidecar()), "bundled model sidecar", spec);
    } else {
        if (!o.files) throw std::logic_error("resolve_model: the model's files were not read");
        spec.name = o.path;
        spec.bytes = o.files->model_bytes;
        if (!o.files->sidecar_path.empty()) {
            spec.sidecar = o.files->sidecar_path;
            apply_sidecar(o.files->sidecar_text, spec.sidecar, spec);
        } else {
            // No sidecar: the bundled model's preprocessing, but the model's own output.
            spec.input.clear();
            spec.output.clear();
        }
    }
    if (!spec.bytes.empty()) spec.sha256 = sha256_hex(spec.bytes.data(), spec.bytes.size());
    if (o.files && !o.files->runnable_bytes.empty()) spec.bytes = o.files->runnable_bytes;
    if (o.runner) {
        // A runner of the caller's (TorchScript, a callback): no graph to read; its
        // forward() output is the embedding, and a trial run checks the input.
        spec.runtime = o.runtime.empty() ? o.runner->runtime() : o.runtime;
        apply_flags(o, spec);
        if (!spec.output.empty() || !spec.input.empty()) {
            throw UsageError("--model " + spec.name +
                             ": --layer and the sidecar's 'input'/'output' are for ONNX graphs; a " + spec.runtime +
                             " model embeds with its forward() output");
        }
        if (spec.nhwc)
            throw UsageError("--model " + spec.name + ": --layout NHWC is for ONNX graphs; " + spec.runtime +
                             " models take NCHW");
        // A function of the caller's usually runs its model on a GPU, which one slice per
        // forward pass leaves mostly idle; 32 slices of 3 x 224 x 224 float32 are 19 MB.
        if (o.path.empty() && o.batch == 0) spec.batch = 32;
        return spec;
    }
    try {
        spec.graph = read_onnx_info(spec.bytes);
    } catch (const std::exception& e) {
        throw UsageError("--model " + spec.name + ": not an ONNX model (" + e.what() + ")");
    }

    apply_flags(o, spec);
    // OpenCV 4.6's DNN imports a bare Conv3d but fails on the pooling of a 3-D network
    // (docs/models.md, section "3-D models"): a 3-D model runs as TorchScript only.
    const bool rank5 = std::any_of(spec.graph.inputs.begin(), spec.graph.inputs.end(),
                                   [](const OnnxTensorInfo& in) { return in.dims.size() == 5; });
    if (spec.depth != 0 || rank5) {
        throw UsageError("--model " + spec.name +
                         ": a 3-D ONNX model (input N x C x D x H x W) cannot run on OpenCV 4.6's DNN; export it as "
                         "TorchScript (torch.jit.trace(model, x).save('model.pt'), docs/models.md)");
    }
    check_input(o, spec);
    if (spec.output.empty() && !spec.graph.outputs.empty()) spec.output = spec.graph.outputs.front().name;
    return spec;
}

}  // namespace lessmore
