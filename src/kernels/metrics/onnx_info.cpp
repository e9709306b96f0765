// A minimal protobuf walk over ModelProto -> GraphProto -> ValueInfoProto (onnx.proto3
// field numbers), skipping everything else, weights included, without copying them.
#include "kernels/metrics/onnx_info.hpp"

#include <set>
#include <stdexcept>

namespace lessmore {
namespace {

class Reader {
public:
    explicit Reader(std::string_view bytes) : m_p(bytes.data()), m_end(bytes.data() + bytes.size()) {}
    bool done() const { return m_p >= m_end; }

    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (m_p >= m_end) throw std::runtime_error("truncated varint");
            const auto b = static_cast<unsigned char>(*m_p++);
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        throw std::runtime_error("malformed varint");
    }

    // Reads a field key; returns false at the end.
    bool key(std::uint32_t& field, std::uint32_t& wire) {
        if (done()) return false;
        const std::uint64_t k = varint();
        field = static_cast<std::uint32_t>(k >> 3);
        wire = static_cast<std::uint32_t>(k & 7);
        return true;
    }

    std::string_view bytes() {
        const std::uint64_t n = varint();
        if (n > static_cast<std::uint64_t>(m_end - m_p)) throw std::runtime_error("truncated field");
        std::string_view out(m_p, static_cast<std::size_t>(n));
        m_p += n;
        return out;
    }

    void skip(std::uint32_t wire) {
        switch (wire) {
        case 0:
            varint();
            return;
        case 1:
            advance(8);
            return;
        case 2:
            bytes();
            return;
        case 5:
            advance(4);
            return;
        default:
            throw std::runtime_error("unsupported wire type");
        }
    }

private:
    void advance(std::size_t n) {
        if (n > static_cast<std::size_t>(m_end - m_p)) throw std::runtime_error("truncated field");
        m_p += n;
    }
    const char* m_p;
    const char* m_end;
};

// TensorShapeProto.Dimension: 1 dim_value (int64), 2 dim_param (string).
std::int64_t read_dimension(std::string_view bytes) {
    Reader r(bytes);
    std::uint32_t field = 0, wire = 0;
    std::int64_t value = -1;
    while (r.key(field, wire)) {
        if (field == 1 && wire == 0) {
            value = static_cast<std::int64_t>(r.varint());
        } else {
            r.skip(wire);
        }
    }
    return value;
}

// ValueInfoProto: 1 name, 2 type -> TypeProto 1 tensor_type -> 2 shape -> 1 dim (repeated).
OnnxTensorInfo read_value_info(std::string_view bytes) {
    OnnxTensorInfo info;
    Reader r(bytes);
    std::uint32_t field = 0, wire = 0;
    while (r.key(field, wire)) {
        if (field == 1 && wire == 2) {
            info.name = std::string(r.bytes());
        } else if (field == 2 && wire == 2) {
            Reader type(r.bytes());
            while (type.key(field, wire)) {
                if (field != 1 || wire != 2) {
                    type.skip(wire);
                    continue;
                }
                Reader tensor(type.bytes());
                while (tensor.key(field, wire)) {
                    if (field != 2 || wire != 2) {
                        tensor.skip(wire);
                        continue;
                    }
                    Reader shape(tensor.bytes());
                    while (shape.key(field, wire)) {
                        if (field == 1 && wire == 2) {
                            info.dims.push_back(read_dimension(shape.bytes()));
                        } else {
                            shape.skip(wire);
                        }
                    }
                }
            }
        } else {
            r.skip(wire);
        }
    }
    return info;
}

// TensorProto: 8 name.
std::string tensor_name(std::string_view bytes) {
    Reader r(bytes);
    std::uint32_t field = 0, wire = 0;
    while (r.key(field, wire)) {
        if (field == 8 && wire == 2) return std::string(r.bytes());
        r.skip(wire);
    }
    return {};
}

}  // namespace

OnnxInfo read_onnx_info(std::string_view bytes) {
    Reader model(bytes);
    std::uint32_t field = 0, wire = 0;
    std::string_view graph;
    bool has_ir_version = false;
    while (model.key(field, wire)) {
        if (field == 7 && wire == 2) {
            graph = model.bytes();
        } else {
            has_ir_version |= field == 1 && wire == 0;
            model.skip(wire);
        }
    }
    if (graph.empty() || !has_ir_version) throw std::runtime_error("no ONNX graph found");
    OnnxInfo info;
    std::set<std::string> initializers;
    std::vector<OnnxTensorInfo> inputs;
    Reader g(graph);
    while (g.key(field, wire)) {
        if (field == 11 && wire == 2) {
            inputs.push_back(read_value_info(g.bytes()));
        } else if (field == 12 && wire == 2) {
            info.outputs.push_back(read_value_info(g.bytes()));
        } else if (field == 5 && wire == 2) {
            initializers.insert(tensor_name(g.bytes()));
        } else {
            g.skip(wire);
        }
    }
    for (auto& in : inputs)
        if (!initializers.count(in.name)) info.inputs.push_back(std::move(in));
    return info;
}

}  // namespace lessmore
