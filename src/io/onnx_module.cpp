// The ONNX normalisation module (lessmore_onnx.so): rewrites what torch.onnx.export writes
// into graphs OpenCV 4.6's DNN imports. Built as its own shared module and opened with
// dlopen only when a --model ONNX file is used (src/io/model_runtimes.cpp), so libonnx and
// libprotobuf cost nothing to the commands that never read a model. The C entry point below
// is the module's whole interface (src/io/model_module_abi.hpp).
//
// What it does, each because OpenCV refuses the graph otherwise (measured on Debian's torch
// 1.13 exports at opsets 11-17, docs/models.md):
//   - Identity nodes are removed and their consumers read the Identity's input: torch
//     exports shared or renamed weights as Identity(initializer), and OpenCV's Identity layer
//     has no input shape for an initializer ("getMemoryShapes").
//   - Constant nodes holding a tensor become initializers (OpenCV folds initializers into
//     the layers that take them; a Constant node feeding a binary op may not be).
//   - Initializers that nothing reads any more are dropped.
// The graph's inputs, outputs and weights are otherwise untouched, so the model computes
// exactly what it did.
#include "io/model_module_abi.hpp"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <string>

namespace {

void set_error(char* err, std::size_t err_size, const std::string& text) {
    if (!err || err_size == 0) return;
    const std::size_t n = std::min(err_size - 1, text.size());
    std::memcpy(err, text.data(), n);
    err[n] = '\0';
}

// The name a renamed value finally resolves to.
std::string resolve(const std::map<std::string, std::string>& renamed, std::string name) {
    for (int hops = 0; hops < 100000; ++hops) {
        const auto it = renamed.find(name);
        if (it == renamed.end()) return name;
        name = it->second;
    }
    return name;  // a cycle: a malformed graph, left for OpenCV to refuse
}

void normalise(onnx::GraphProto& graph) {
    std::set<std::string> graph_outputs;
    for (const auto& o : graph.output()) graph_outputs.insert(o.name());

    // Identity nodes (but one producing a graph output, whose name must stay).
    std::map<std::string, std::string> renamed;
    google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
    for (auto& node : *graph.mutable_node()) {
        if (node.op_type() == "Identity" && node.domain().empty() && node.input_size() == 1 &&
            node.output_size() == 1 && !graph_outputs.count(node.output(0))) {
            renamed[node.output(0)] = node.input(0);
            continue;
        }
        if (node.op_type() == "Constant" && node.domain().empty() && node.output_size() == 1 &&
            node.attribute_size() == 1 && node.attribute(0).name() == "value" && node.attribute(0).has_t() &&
            !graph_outputs.count(node.output(0))) {
            onnx::TensorProto* t = graph.add_initializer();
            *t = node.attribute(0).t();
            t->set_name(node.output(0));
            continue;
        }
        kept.Add(std::move(node));
    }
    graph.mutable_node()->Swap(&kept);
    std::set<std::string> read;
    for (auto& node : *graph.mutable_node())
        for (auto& in : *node.mutable_input()) {
            if (!in.empty()) in = resolve(renamed, in);
            read.insert(in);
        }
    for (const auto& o : graph.output()) read.insert(o.name());

    google::protobuf::RepeatedPtrField<onnx::TensorProto> used;
    for (auto& t : *graph.mutable_initializer())
        if (read.count(t.name())) used.Add(std::move(t));
    graph.mutable_initializer()->Swap(&used);
    // Graph inputs that were initializers (keep_initializers_as_inputs) and are gone too.
    std::set<std::string> weights;
    for (const auto& t : graph.initializer()) weights.insert(t.name());
    google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> inputs;
    for (auto& in : *graph.mutable_input())
        if (read.count(in.name()) || !weights.count(in.name())) inputs.Add(std::move(in));
    graph.mutable_input()->Swap(&inputs);
}

}  // namespace

extern "C" LESSMORE_MODULE_EXPORT int lessmore_onnx_normalise(const char* bytes, std::size_t size, char** out,
                                                              std::size_t* out_size, char* err, std::size_t err_size) {
    try {
        onnx::ModelProto model;
        if (size > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
            !model.ParseFromArray(bytes, static_cast<int>(size))) {
            set_error(err, err_size, "not an ONNX model (protobuf parse failed)");
            return 1;
        }
        normalise(*model.mutable_graph());
        const std::string text = model.SerializeAsString();
        *out = static_cast<char*>(std::malloc(text.size()));
        if (!*out) {
            set_error(err, err_size, "out of memory");
            return 1;
        }
        std::memcpy(*out, text.data(), text.size());
        *out_size = text.size();
        return 0;
    } catch (const std::exception& e) {
        set_error(err, err_size, e.what());
        return 1;
    }
}

extern "C" LESSMORE_MODULE_EXPORT void lessmore_module_free(void* p) { std::free(p); }
