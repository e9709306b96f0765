// Embedder: slices -> the model's input batch -> a ModelRunner -> embeddings; and the ONNX
// runner on OpenCV's DNN, one network per concurrent caller.
#include <lessmore/embedder.hpp>
#include <lessmore/error.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/resize_area.hpp>

#include "kernels/metrics/model_spec.hpp"
#include "kernels/opencv_setup.hpp"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <mutex>

namespace lessmore {
namespace {

// OpenCV's import errors read "Node [Mul@ai.onnx]:(onnx_node!/Mul_1) parse error: OpenCV(4.6.0)
// <file>:<line>: error: (-213:...) Different shapes ... in function 'parseMul'"; the user
// needs the operator, the node and the reason, not the file and line.
std::string explain_import_error(const std::string& err) {
    const std::size_t node = err.find("Node [");
    if (node == std::string::npos) return one_line(err);
    const std::size_t at = err.find_first_of("@]", node + 6);
    const std::string op = err.substr(node + 6, at == std::string::npos ? std::string::npos : at - node - 6);
    std::string name;
    const std::size_t bang = err.find("onnx_node!", node);
    if (bang != std::string::npos) {
        const std::size_t close = err.find(')', bang);
        name = err.substr(bang + 10, close == std::string::npos ? std::string::npos : close - bang - 10);
    }
    std::string reason = err.substr(node);
    const std::size_t colon = reason.rfind("error: (");
    if (colon != std::string::npos) {
        reason = reason.substr(colon + 7);
        const std::size_t paren = reason.find(") ");
        if (paren != std::string::npos) reason = reason.substr(paren + 2);
        const std::size_t in_function = reason.find(" in function");
        if (in_function != std::string::npos) reason.resize(in_function);
    }
    return "operator " + op + (name.empty() ? "" : " (node " + name + ")") + " is not supported: " + one_line(reason);
}

class OpenCvRunner final : public ModelRunner {
public:
    OpenCvRunner(std::string bytes, std::string name, std::string input, std::string output)
        : m_bytes(std::move(bytes)), m_name(std::move(name)), m_input(std::move(input)), m_output(std::move(output)) {
        Lease lease(*this);  // loads once now: a model OpenCV cannot import fails here
        check_output(lease.net());
    }

    OutputBatch run(const InputBatch& batch) const override {
        Lease lease(*this);
        const int dims[4] = {batch.count, batch.nhwc ? batch.height : batch.channels,
                             batch.nhwc ? batch.width : batch.height, batch.nhwc ? batch.channels : batch.width};
        const cv::Mat blob(4, dims, CV_32F, const_cast<float*>(batch.values.data()));
        cv::Mat out;
        try {
            lease.net().setInput(blob, m_input);
            out = lease.net().forward(m_output);
        } catch (const cv::Exception& e) {
            throw UsageError("--model " + m_name + ": OpenCV's DNN failed on a batch of " +
                             std::to_string(batch.count) + " " + std::to_string(batch.width) + "x" +
                             std::to_string(batch.height) + " images: " + one_line(e.err));
        }
        OutputBatch result;
        for (int d = 0; d < out.dims; ++d) result.shape.push_back(out.size[d]);
        const cv::Mat flat = out.isContinuous() ? out : out.clone();
        result.values.assign(flat.ptr<float>(), flat.ptr<float>() + flat.total());
        return result;
    }

    std::string runtime() const override { return "opencv-dnn"; }

private:
    // A network lent to one caller for one batch (cv::dnn::Net::forward is not thread-safe).
    class Lease {
    public:
        explicit Lease(const OpenCvRunner& runner) : m_runner(runner) {
            std::unique_lock<std::mutex> lock(runner.m_mutex);
            if (runner.m_free.empty()) {
                lock.unlock();
                m_net = runner.load();
            } else {
                m_net = std::move(runner.m_free.back());
                runner.m_free.pop_back();
            }
        }
        ~Lease() {
            std::lock_guard<std::mutex> lock(m_runner.m_mutex);
            m_runner.m_free.push_back(std::move(m_net));
        }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        cv::dnn::Net& net() { return *m_net; }

    private:
        const OpenCvRunner& m_runner;
        std::unique_ptr<cv::dnn::Net> m_net;
    };

    std::unique_ptr<cv::dnn::Net> load() const {
        try {
            auto net = std::make_unique<cv::dnn::Net>(cv::dnn::readNetFromONNX(m_bytes.data(), m_bytes.size()));
            if (net->empty()) throw UsageError("--model " + m_name + ": OpenCV could not load the network");
            net->setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
            net->setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
            return net;
        } catch (const cv::Exception& e) {
            throw UsageError("--model " + m_name +
                             ": OpenCV's DNN cannot run this ONNX model: " + explain_import_error(e.err) +
                             " (a torch model runs as TorchScript instead: --model MODEL.pt, docs/models.md)");
        }
    }

    void check_output(cv::dnn::Net& net) const {
        const std::vector<std::string> outs = net.getUnconnectedOutLayersNames();
        const auto layers = net.getLayerNames();
        const bool known = std::find(outs.begin(), outs.end(), m_output) != outs.end() ||
                           std::find(layers.begin(), layers.end(), m_output) != layers.end();
        if (!known) {
            std::string list;
            for (const auto& o : outs) list += (list.empty() ? "" : ", ") + o;
            throw UsageError("--layer " + m_output + ": no such layer or output in " + m_name + " (graph outputs: " +
                             list + "; inner layers are named as OpenCV imports them, e.g. onnx_node!<node name>)");
        }
    }

    std::string m_bytes;
    std::string m_name;
    std::string m_input;
    std::string m_output;
    mutable std::mutex m_mutex;
    mutable std::vector<std::unique_ptr<cv::dnn::Net>> m_free;
};

// One slice's values as float32 (the value model: HU for CT).
cv::Mat values_of(const SliceView& s) {
    const int type = [&] {
        switch (s.type) {
        case VoxelType::UInt8:
            return CV_8U;
        case VoxelType::Int16:
            return CV_16S;
        case VoxelType::UInt16:
            return CV_16U;
        case VoxelType::Int32:
            return CV_32S;
        case VoxelType::Float32:
            return CV_32F;
        case VoxelType::Float64:
            return CV_64F;
        }
        return CV_64F;
    }();
    const cv::Mat raw(s.height, s.width, type, const_cast<void*>(s.data));
    cv::Mat out;
    raw.convertTo(out, CV_32F);
    return out;
}

}  // namespace

std::shared_ptr<const ModelRunner> make_opencv_runner(std::string bytes, const std::string& name,
                                                      const std::string& input, const std::string& output) {
    return std::make_shared<OpenCvRunner>(std::move(bytes), name, input, output);
}

struct Embedder::Impl {
    ModelSpec spec;
    std::shared_ptr<const ModelRunner> runner;
    std::size_t size = 0;
    ModelDescription description;
    int trial_depth = 0;  // 3-D models: the depth of the blank batch tried at load

    InputBatch empty_batch(std::size_t n, int depth = 0) const {
        InputBatch b;
        b.count = static_cast<int>(n);
        b.channels = spec.channels;
        b.depth = depth;
        b.height = spec.height;
        b.width = spec.width;
        b.nhwc = spec.nhwc;
        b.values.resize(n * static_cast<std::size_t>(spec.channels) * std::max(depth, 1) * spec.height * spec.width);
        return b;
    }

    // Blob channel c takes RGB channel rgb(c) of mean and std (grey: the first).
    std::size_t rgb(int c) const {
        if (spec.channels == 1) return 0;
        return static_cast<std::size_t>(spec.bgr ? 2 - c : c);
    }

    // Writes one image's channels from a per-pixel function of (channel, pixel index).
    template <typename Value>
    void put(InputBatch& b, std::size_t i, const Value& value) const {
        const std::size_t plane = static_cast<std::size_t>(spec.height) * spec.width;
        const auto channels = static_cast<std::size_t>(spec.channels);
        float* image = b.values.data() + i * channels * plane;
        for (std::size_t c = 0; c < channels; ++c)
            for (std::size_t p = 0; p < plane; ++p)
                image[spec.nhwc ? p * channels + c : c * plane + p] = value(static_cast<int>(c), p);
    }

    // The 8-bit path: area-resized to the input size, grey in every channel,
    // (pixel * scale - mean[c]) / std[c], in the model's layout and channel order.
    InputBatch blob(const std::vector<const Image8*>& images) const {
        InputBatch b = empty_batch(images.size());
        float lut[3][256];  // grey: one value per pixel level and channel
        for (int c = 0; c < spec.channels; ++c)
            for (int v = 0; v < 256; ++v)
                lut[c][v] = static_cast<float>((v * spec.scale - spec.mean[rgb(c)]) / spec.std[rgb(c)]);
        for (std::size_t i = 0; i < images.size(); ++i) {
            const Image8 small = resize_area(*images[i], spec.width, spec.height);
            put(b, i, [&](int c, std::size_t p) { return lut[c][small.pixels[p]]; });
        }
        return b;
    }

    // The values path: clipped to the window, area-resized in float32 (OpenCV's INTER_AREA,
    // what the 8-bit path's resize_area equals), then (value * scale - mean[c]) / std[c].
    InputBatch value_blob(const std::vector<SliceView>& slices) const {
        InputBatch b = empty_batch(slices.size());
        for (std::size_t i = 0; i < slices.size(); ++i) {
            cv::Mat v = values_of(slices[i]);
            cv::patchNaNs(v, 0.0);
            if (spec.window) v = cv::max(cv::min(v, spec.window->second), spec.window->first);
            cv::Mat small;
            if (v.cols == spec.width && v.rows == spec.height) {
                small = v;
            } else {
                cv::resize(v, small, cv::Size(spec.width, spec.height), 0, 0, cv::INTER_AREA);
            }
            const float* src = small.ptr<float>();
            put(b, i, [&](int c, std::size_t p) {
                return static_cast<float>((src[p] * spec.scale - spec.mean[rgb(c)]) / spec.std[rgb(c)]);
            });
        }
        return b;
    }

    // A 3-D model's batch of units: each slice of a unit resized in-plane as the 2-D paths
    // resize a slice (8 bits: resize_area of the unit's 8-bit block, one mapping over the
    // unit; "hu": values clipped, INTER_AREA in float), every channel the same grey,
    // N x C x D x H x W.
    InputBatch unit_blob(const std::vector<UnitCrop>& units, const IntensityMapping& intensity) const {
        const int depth = units.empty() ? 0 : static_cast<int>(units.front().slices.size());
        for (const UnitCrop& u : units) {
            if (static_cast<int>(u.slices.size()) != depth || depth == 0 || (spec.depth > 0 && depth != spec.depth))
                throw std::logic_error("unit_blob: units of another depth than the model's");
        }
        InputBatch b = empty_batch(units.size(), depth);
        const std::size_t plane = static_cast<std::size_t>(spec.height) * spec.width;
        const auto channels = static_cast<std::size_t>(spec.channels);
        const auto d = static_cast<std::size_t>(depth);
        auto write = [&](std::size_t i, std::size_t z, const auto& value) {
            float* unit = b.values.data() + i * channels * d * plane;
            for (std::size_t c = 0; c < channels; ++c)
                for (std::size_t p = 0; p < plane; ++p) unit[(c * d + z) * plane + p] = value(static_cast<int>(c), p);
        };
        for (std::size_t i = 0; i < units.size(); ++i) {
            const UnitCrop& u = units[i];
            if (!spec.hu) {
                const Unit8 block = to_8bit_block(u.slices, u.x0, u.y0, u.width, u.height, intensity);
                const std::size_t area = static_cast<std::size_t>(u.width) * u.height;
                for (std::size_t z = 0; z < d; ++z) {
                    Image8 slice;
                    slice.width = u.width;
                    slice.height = u.height;
                    slice.pixels.assign(block.voxels.begin() + static_cast<std::ptrdiff_t>(z * area),
                                        block.voxels.begin() + static_cast<std::ptrdiff_t>((z + 1) * area));
                    const Image8 small = resize_area(slice, spec.width, spec.height);
                    write(i, z, [&](int c, std::size_t p) {
                        return static_cast<float>((small.pixels[p] * spec.scale - spec.mean[rgb(c)]) /
                                                  spec.std[rgb(c)]);
                    });
                }
                continue;
            }
            for (std::size_t z = 0; z < d; ++z) {
                cv::Mat v = values_of(u.slices[z])(cv::Rect(u.x0, u.y0, u.width, u.height)).clone();
                cv::patchNaNs(v, 0.0);
                if (spec.window) v = cv::max(cv::min(v, spec.window->second), spec.window->first);
                cv::Mat small = v;
                if (v.cols != spec.width || v.rows != spec.height)
                    cv::resize(v, small, cv::Size(spec.width, spec.height), 0, 0, cv::INTER_AREA);
                const float* src = small.ptr<float>();
                write(i, z, [&](int c, std::size_t p) {
                    return static_cast<float>((src[p] * spec.scale - spec.mean[rgb(c)]) / spec.std[rgb(c)]);
                });
            }
        }
        return b;
    }

    std::vector<std::vector<float>> embeddings(const InputBatch& in) const {
        const OutputBatch out = runner->run(in);
        const auto n = static_cast<std::size_t>(in.count);
        std::size_t total = 1;
        for (std::int64_t d : out.shape) total *= static_cast<std::size_t>(std::max<std::int64_t>(d, 0));
        if (out.shape.size() < 2 || out.shape[0] != in.count || total != out.values.size() || total == 0) {
            throw UsageError("--model " + spec.name + ": the output's first dimension is not the batch");
        }
        const std::size_t rank = in.depth > 0 ? 5 : 4;
        if (spec.pool && out.shape.size() != rank) {
            throw UsageError("--pool: output '" + spec.output + "' of " + spec.name + " has " +
                             std::to_string(out.shape.size()) + " dimensions, not " + std::to_string(rank) +
                             (rank == 5 ? " (N x C x D x H x W)" : " (N x C x H x W)"));
        }
        const std::size_t per = total / n;
        std::vector<std::vector<float>> result(n);
        for (std::size_t i = 0; i < n; ++i) {
            const float* src = out.values.data() + i * per;
            auto& v = result[i];
            if (!spec.pool) {
                v.assign(src, src + per);
                continue;
            }
            const auto c = static_cast<std::size_t>(out.shape[1]);
            const std::size_t hw = per / c;
            v.resize(c);
            for (std::size_t k = 0; k < c; ++k) {
                double sum = 0.0;
                for (std::size_t p = 0; p < hw; ++p) sum += src[k * hw + p];
                v[k] = static_cast<float>(sum / static_cast<double>(hw));
            }
        }
        return result;
    }

    // A failure once the model was checked concerns the slices being embedded: the
    // volume's failure, not a usage error.
    template <typename F>
    static std::vector<std::vector<float>> as_input_error(const F& f) {
        try {
            return f();
        } catch (const UsageError& e) {
            throw InputError(e.what());
        }
    }
};

Embedder::Embedder(const ModelOptions& options) : m_impl(std::make_unique<Impl>()) {
    configure_opencv();
    // OpenCV runs single-threaded (configure_libraries()): parallelism comes from
    // lessmore's pool, one network per worker and one batch each, so results depend on
    // the batch, never on the thread count.
    m_impl->spec = resolve_model(options);
    const ModelSpec& spec = m_impl->spec;
    m_impl->runner =
        options.runner ? options.runner : make_opencv_runner(spec.bytes, spec.name, spec.input, spec.output);
    // Run once now: a model that cannot run, or whose input disagrees with what is given
    // (channels, size), is a usage error before anything is written.
    // A 3-D model of any depth is tried on the run's unit depth (8 when it is in mm).
    if (spec.depth != 0) m_impl->trial_depth = spec.depth > 0 ? spec.depth : std::max(options.unit_depth, 0);
    if (spec.depth == k_any_depth && m_impl->trial_depth == 0) m_impl->trial_depth = 8;
    m_impl->size = m_impl->embeddings(m_impl->empty_batch(1, m_impl->trial_depth)).front().size();
    if (m_impl->size == 0) throw UsageError("--model " + spec.name + ": the output is empty");
    m_impl->description = spec;  // the description part of the spec
    m_impl->description.bundled = options.path.empty() && !options.runner;
    m_impl->description.embedding_size = m_impl->size;
    m_impl->spec.bytes.clear();  // the runner holds what it needs
}

Embedder::~Embedder() = default;

std::vector<std::vector<float>> Embedder::embed(const std::vector<const Image8*>& images) const {
    if (images.empty()) return {};
    return Impl::as_input_error([&] { return m_impl->embeddings(m_impl->blob(images)); });
}

std::vector<std::vector<float>> Embedder::embed_values(const std::vector<SliceView>& slices) const {
    if (slices.empty()) return {};
    return Impl::as_input_error([&] { return m_impl->embeddings(m_impl->value_blob(slices)); });
}

std::vector<std::vector<float>> Embedder::embed_units(const std::vector<UnitCrop>& units,
                                                      const IntensityMapping& intensity) const {
    if (units.empty()) return {};
    if (m_impl->spec.depth == 0) throw std::logic_error("Embedder::embed_units: a 2-D model");
    return Impl::as_input_error([&] {
        auto out = m_impl->embeddings(m_impl->unit_blob(units, intensity));
        // A model of any depth must give embeddings of one length (pooled) at every depth.
        if (out.front().size() != m_impl->size) {
            throw UsageError("--model " + m_impl->spec.name + ": units of " +
                             std::to_string(units.front().slices.size()) + " slices give embeddings of " +
                             std::to_string(out.front().size()) + " values, not the " + std::to_string(m_impl->size) +
                             " of its trial at depth " + std::to_string(m_impl->trial_depth) +
                             " (a model of any depth must pool)");
        }
        return out;
    });
}

InputBatch Embedder::preprocess_units(const std::vector<UnitCrop>& units, const IntensityMapping& intensity) const {
    return m_impl->unit_blob(units, intensity);
}

bool Embedder::takes_values() const { return m_impl->spec.hu; }
InputBatch Embedder::preprocess(const std::vector<const Image8*>& images) const { return m_impl->blob(images); }
InputBatch Embedder::preprocess_values(const std::vector<SliceView>& slices) const {
    return m_impl->value_blob(slices);
}
std::size_t Embedder::size() const { return m_impl->size; }
int Embedder::batch() const { return m_impl->spec.batch; }
const ModelDescription& Embedder::description() const { return m_impl->description; }

}  // namespace lessmore
