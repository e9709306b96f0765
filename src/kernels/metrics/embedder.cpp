// Embedder: OpenCV dnn networks for one ONNX model, one per concurrent caller.
#include <lessmore/embedder.hpp>
#include <lessmore/error.hpp>
#include <lessmore/resize_area.hpp>

#include "kernels/metrics/model_spec.hpp"
#include "kernels/opencv_setup.hpp"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <algorithm>
#include <mutex>

namespace lessmore {

struct Embedder::Impl {
    ModelSpec spec;
    std::size_t size = 0;
    ModelDescription description;
    mutable std::mutex mutex;
    mutable std::vector<std::unique_ptr<cv::dnn::Net>> free;

    // A network lent to one caller for one batch (cv::dnn::Net::forward is not thread-safe).
    class Lease {
    public:
        explicit Lease(const Impl& impl) : m_impl(impl) {
            std::unique_lock<std::mutex> lock(impl.mutex);
            if (impl.free.empty()) {
                lock.unlock();
                m_net = impl.load();
            } else {
                m_net = std::move(impl.free.back());
                impl.free.pop_back();
            }
        }
        ~Lease() {
            std::lock_guard<std::mutex> lock(m_impl.mutex);
            m_impl.free.push_back(std::move(m_net));
        }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        cv::dnn::Net& net() { return *m_net; }

    private:
        const Impl& m_impl;
        std::unique_ptr<cv::dnn::Net> m_net;
    };

    std::unique_ptr<cv::dnn::Net> load() const {
        try {
            auto net = std::make_unique<cv::dnn::Net>(cv::dnn::readNetFromONNX(spec.bytes.data(), spec.bytes.size()));
            if (net->empty()) throw UsageError("--model " + spec.name + ": OpenCV could not load the network");
            net->setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
            net->setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
            return net;
        } catch (const cv::Exception& e) {
            throw UsageError("--model " + spec.name + ": OpenCV cannot load this ONNX model: " + one_line(e.err));
        }
    }

    void check_output(cv::dnn::Net& net) const {
        const std::vector<std::string> outs = net.getUnconnectedOutLayersNames();
        const auto layers = net.getLayerNames();
        const bool known = std::find(outs.begin(), outs.end(), spec.output) != outs.end() ||
                           std::find(layers.begin(), layers.end(), spec.output) != layers.end();
        if (!known) {
            std::string list;
            for (const auto& o : outs) list += (list.empty() ? "" : ", ") + o;
            throw UsageError("--layer " + spec.output + ": no such layer or output in " + spec.name +
                             " (graph outputs: " + list +
                             "; inner layers are named as OpenCV imports them, e.g. onnx_node!<node name>)");
        }
    }

    // The blob of a batch: area-resized to the input size, grey in all three channels,
    // (pixel * scale - mean[c]) / std[c], in the model's layout and channel order.
    cv::Mat blob(const std::vector<const Image8*>& images) const {
        const int n = static_cast<int>(images.size());
        const int h = spec.height, w = spec.width;
        const int dims[4] = {n, spec.nhwc ? h : 3, spec.nhwc ? w : h, spec.nhwc ? 3 : w};
        cv::Mat b(4, dims, CV_32F);
        float* data = b.ptr<float>();
        float lut[3][256];  // grey: one value per pixel level and channel
        for (int c = 0; c < 3; ++c) {
            const auto rgb = static_cast<std::size_t>(spec.bgr ? 2 - c : c);
            for (int v = 0; v < 256; ++v)
                lut[c][v] = static_cast<float>((v * spec.scale - spec.mean[rgb]) / spec.std[rgb]);
        }
        const std::size_t plane = static_cast<std::size_t>(h) * w;
        for (int i = 0; i < n; ++i) {
            const Image8 small = resize_area(*images[static_cast<std::size_t>(i)], w, h);
            const std::uint8_t* src = small.pixels.data();
            float* image = data + static_cast<std::size_t>(i) * 3 * plane;
            if (spec.nhwc) {
                for (std::size_t p = 0; p < plane; ++p)
                    for (int c = 0; c < 3; ++c) image[p * 3 + static_cast<std::size_t>(c)] = lut[c][src[p]];
            } else {
                for (int c = 0; c < 3; ++c) {
                    float* dst = image + static_cast<std::size_t>(c) * plane;
                    for (std::size_t p = 0; p < plane; ++p) dst[p] = lut[c][src[p]];
                }
            }
        }
        return b;
    }

    std::vector<std::vector<float>> run(cv::dnn::Net& net, const std::vector<const Image8*>& images) const {
        cv::Mat out;
        try {
            net.setInput(blob(images), spec.input);
            out = net.forward(spec.output);
        } catch (const cv::Exception& e) {
            throw UsageError("--model " + spec.name + ": the network failed on a batch of " +
                             std::to_string(images.size()) + " " + std::to_string(spec.width) + "x" +
                             std::to_string(spec.height) + " images: " + one_line(e.err));
        }
        const int n = static_cast<int>(images.size());
        if (out.dims < 2 || out.size[0] != n) {
            throw UsageError("--model " + spec.name + ": the output's first dimension is not the batch");
        }
        if (spec.pool && out.dims != 4) {
            throw UsageError("--pool: output '" + spec.output + "' of " + spec.name + " has " +
                             std::to_string(out.dims) + " dimensions, not 4 (N x C x H x W)");
        }
        const cv::Mat flat = out.reshape(1, n);  // N x (everything else)
        std::vector<std::vector<float>> result(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            const float* src = flat.ptr<float>(i);
            auto& v = result[static_cast<std::size_t>(i)];
            if (!spec.pool) {
                v.assign(src, src + flat.cols);
                continue;
            }
            const int c = out.size[1], hw = out.size[2] * out.size[3];
            v.resize(static_cast<std::size_t>(c));
            for (int k = 0; k < c; ++k) {
                double sum = 0.0;
                for (int p = 0; p < hw; ++p) sum += src[k * hw + p];
                v[static_cast<std::size_t>(k)] = static_cast<float>(sum / hw);
            }
        }
        return result;
    }
};

Embedder::Embedder(const ModelOptions& options) : m_impl(std::make_unique<Impl>()) {
    configure_opencv();
    // OpenCV runs single-threaded (configure_libraries()): parallelism comes from
    // lessmore's pool, one network per worker and one batch each, so results depend on
    // the batch, never on the thread count.
    m_impl->spec = resolve_model(options);
    // Load and run once now: a bad model is a usage error before anything is written.
    Impl::Lease lease(*m_impl);
    m_impl->check_output(lease.net());
    const Image8 blank(m_impl->spec.width, m_impl->spec.height);
    m_impl->size = m_impl->run(lease.net(), {&blank}).front().size();
    if (m_impl->size == 0) throw UsageError("--model " + m_impl->spec.name + ": the output is empty");
    m_impl->description = m_impl->spec;  // the description part of the spec
    m_impl->description.bundled = options.path.empty();
    m_impl->description.embedding_size = m_impl->size;
}

Embedder::~Embedder() = default;

std::vector<std::vector<float>> Embedder::embed(const std::vector<const Image8*>& images) const {
    if (images.empty()) return {};
    // The model was checked when the embedder was made; a failure now concerns the slices
    // being embedded, so it is the volume's failure, not a usage error.
    try {
        Impl::Lease lease(*m_impl);
        return m_impl->run(lease.net(), images);
    } catch (const UsageError& e) {
        throw InputError(e.what());
    }
}

std::size_t Embedder::size() const { return m_impl->size; }
int Embedder::batch() const { return m_impl->spec.batch; }
const ModelDescription& Embedder::description() const { return m_impl->description; }

}  // namespace lessmore
