// DeepNet: CNN embeddings through OpenCV's dnn module, cosine similarity of the
// L2-normalised vectors; similar iff cosine >= threshold.
#include "metrics/deepnet_metric.hpp"

#include <lessmore/error.hpp>
#include <lessmore/pruning.hpp>
#include <lessmore/resize.hpp>

#include "metrics/model_config.hpp"

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <sstream>

namespace lessmore {
namespace {

class EmbeddingFeature final : public Feature {
public:
    std::vector<double> unit;  // L2-normalised (all zeros when the embedding is zero)
};

std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

class DeepNetMetric final : public Metric {
public:
    explicit DeepNetMetric(ModelSpec spec) : m_spec(std::move(spec)) {
        // Parallelism comes from lessmore's pool (one network per worker, one batch
        // each), so OpenCV itself runs single-threaded: results then depend only on the
        // batch, never on the thread count.
        cv::setNumThreads(1);
        // OpenCV logs its own errors to stderr; lessmore reports them as one-line errors.
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
        // Load once now: a bad model is a usage error before anything is written.
        Lease lease(*this);
        check_output(lease.net());
        Image8 blank(m_spec.width, m_spec.height);
        const cv::Mat out = forward(lease.net(), {&blank});
        m_size = static_cast<std::size_t>(out.cols);
        if (m_size == 0) throw UsageError("--model " + m_spec.name + ": the output is empty");
    }

    std::string name() const override { return "deepnet"; }
    Sense sense() const override { return Sense::HigherIsSimilar; }
    bool cheap_compare() const override { return true; }
    std::size_t batch_size() const override { return static_cast<std::size_t>(m_spec.batch); }

    void check_threshold(double t) const override {
        if (!(t >= -1.0 && t <= 1.0)) {
            throw UsageError("--threshold: for deepnet it is a cosine, from -1 to 1 (got " + format_number(t) + ")");
        }
    }

    std::unique_ptr<Feature> prepare(const Image8& image) const override {
        return std::move(prepare_batch({&image}).front());
    }

    std::vector<std::unique_ptr<Feature>> prepare_batch(const std::vector<const Image8*>& images) const override {
        cv::Mat out;
        {
            Lease lease(*this);
            out = forward(lease.net(), images);
        }
        std::vector<std::unique_ptr<Feature>> features;
        for (int r = 0; r < out.rows; ++r) {
            auto f = std::make_unique<EmbeddingFeature>();
            const float* row = out.ptr<float>(r);
            double norm = 0.0;
            for (int c = 0; c < out.cols; ++c) norm += static_cast<double>(row[c]) * row[c];
            norm = std::sqrt(norm);
            f->unit.resize(static_cast<std::size_t>(out.cols));
            for (int c = 0; c < out.cols; ++c) f->unit[static_cast<std::size_t>(c)] = norm > 0 ? row[c] / norm : 0.0;
            features.push_back(std::move(f));
        }
        return features;
    }

    double compare(const Feature& a, const Feature& b) const override {
        const auto& x = static_cast<const EmbeddingFeature&>(a).unit;
        const auto& y = static_cast<const EmbeddingFeature&>(b).unit;
        double dot = 0.0;
        for (std::size_t i = 0; i < x.size(); ++i) dot += x[i] * y[i];
        return dot;
    }

    bool pairwise(const std::vector<const Feature*>& features, ScoreMatrix& out) const override {
        // All cosines as one matrix product E E^T.
        const int n = static_cast<int>(features.size());
        cv::Mat e(n, static_cast<int>(m_size), CV_64F);
        for (int i = 0; i < n; ++i) {
            const auto& u = static_cast<const EmbeddingFeature*>(features[static_cast<std::size_t>(i)])->unit;
            std::copy(u.begin(), u.end(), e.ptr<double>(i));
        }
        cv::Mat m;
        cv::gemm(e, e, 1.0, cv::noArray(), 0.0, m, cv::GEMM_2_T);
        out = ScoreMatrix(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j) out.values[static_cast<std::size_t>(i) * n + j] = m.at<double>(i, j);
        return true;
    }

    std::vector<std::pair<std::string, std::string>> parameters() const override {
        using Json = nlohmann::json;
        return {{"model", Json(m_spec.name).dump()},
                {"model_sha256", Json(m_spec.sha256).dump()},
                {"model_sidecar", m_spec.sidecar.empty() ? "null" : Json(m_spec.sidecar).dump()},
                {"input_size", Json({m_spec.width, m_spec.height}).dump()},
                {"layout", Json(m_spec.nhwc ? "NHWC" : "NCHW").dump()},
                {"channel_order", Json(m_spec.bgr ? "BGR" : "RGB").dump()},
                {"scale", Json(m_spec.scale).dump()},
                {"mean", Json(m_spec.mean).dump()},
                {"std", Json(m_spec.std).dump()},
                {"model_input", Json(m_spec.input).dump()},
                {"model_output", Json(m_spec.output.empty() ? m_default_output : m_spec.output).dump()},
                {"pool", m_spec.pool ? "true" : "false"},
                {"embedding_size", std::to_string(m_size)},
                {"batch", std::to_string(m_spec.batch)}};
    }

private:
    // One network per concurrent user: cv::dnn::Net::forward is not thread-safe.
    class Lease {
    public:
        explicit Lease(const DeepNetMetric& m) : m_owner(m) {
            std::unique_lock<std::mutex> lock(m.m_mutex);
            if (m.m_free.empty()) {
                lock.unlock();
                m_net = m.load();
            } else {
                m_net = std::move(m.m_free.back());
                m.m_free.pop_back();
            }
        }
        ~Lease() {
            std::lock_guard<std::mutex> lock(m_owner.m_mutex);
            m_owner.m_free.push_back(std::move(m_net));
        }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        cv::dnn::Net& net() { return *m_net; }

    private:
        const DeepNetMetric& m_owner;
        std::unique_ptr<cv::dnn::Net> m_net;
    };

    std::unique_ptr<cv::dnn::Net> load() const {
        try {
            auto net = std::make_unique<cv::dnn::Net>(cv::dnn::readNetFromONNX(m_spec.bytes.data(), m_spec.bytes.size()));
            if (net->empty()) throw UsageError("--model " + m_spec.name + ": OpenCV could not load the network");
            net->setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
            net->setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
            return net;
        } catch (const cv::Exception& e) {
            throw UsageError("--model " + m_spec.name + ": OpenCV cannot load this ONNX model: " + one_line(e.err));
        }
    }

    void check_output(cv::dnn::Net& net) {
        const std::vector<std::string> outs = net.getUnconnectedOutLayersNames();
        m_default_output = outs.empty() ? std::string() : outs.front();
        if (m_spec.output.empty()) return;
        const auto layers = net.getLayerNames();
        const bool known = std::find(outs.begin(), outs.end(), m_spec.output) != outs.end() ||
                           std::find(layers.begin(), layers.end(), m_spec.output) != layers.end();
        if (!known) {
            std::string list;
            for (const auto& o : outs) list += (list.empty() ? "" : ", ") + o;
            throw UsageError("--layer " + m_spec.output + ": no such layer or output in " + m_spec.name +
                             " (graph outputs: " + list + ")");
        }
    }

    // The blob of a batch: area-resized to the input size, grey in all three channels,
    // (pixel * scale - mean[c]) / std[c], in the model's layout and channel order.
    cv::Mat blob(const std::vector<const Image8*>& images) const {
        const int n = static_cast<int>(images.size());
        const int h = m_spec.height, w = m_spec.width;
        const int dims[4] = {n, m_spec.nhwc ? h : 3, m_spec.nhwc ? w : h, m_spec.nhwc ? 3 : w};
        cv::Mat b(4, dims, CV_32F);
        float* data = b.ptr<float>();
        for (int i = 0; i < n; ++i) {
            const Image8 small = resize_area(*images[static_cast<std::size_t>(i)], w, h);
            for (int c = 0; c < 3; ++c) {
                const int rgb = m_spec.bgr ? 2 - c : c;
                const double mean = m_spec.mean[static_cast<std::size_t>(rgb)];
                const double sd = m_spec.std[static_cast<std::size_t>(rgb)];
                // Grey: one value per pixel level; a LUT keeps the per-pixel work to a copy.
                float lut[256];
                for (int v = 0; v < 256; ++v) lut[v] = static_cast<float>((v * m_spec.scale - mean) / sd);
                for (int y = 0; y < h; ++y) {
                    const std::uint8_t* src = small.row(y);
                    for (int x = 0; x < w; ++x) {
                        const std::size_t at = m_spec.nhwc
                                                    ? ((static_cast<std::size_t>(i) * h + y) * w + x) * 3 + c
                                                    : ((static_cast<std::size_t>(i) * 3 + c) * h + y) * w + x;
                        data[at] = lut[src[x]];
                    }
                }
            }
        }
        return b;
    }

    // Runs a batch; returns N x D float embeddings.
    cv::Mat forward(cv::dnn::Net& net, const std::vector<const Image8*>& images) const {
        cv::Mat out;
        try {
            net.setInput(blob(images), m_spec.input);
            out = m_spec.output.empty() ? net.forward() : net.forward(m_spec.output);
        } catch (const cv::Exception& e) {
            throw UsageError("--model " + m_spec.name + ": the network failed on a batch of " +
                             std::to_string(images.size()) + " " + std::to_string(m_spec.width) + "x" +
                             std::to_string(m_spec.height) + " images: " + one_line(e.err));
        }
        const int n = static_cast<int>(images.size());
        if (out.dims < 2 || out.size[0] != n) {
            throw UsageError("--model " + m_spec.name + ": the output's first dimension is not the batch");
        }
        cv::Mat flat = out.reshape(1, n);  // N x (everything else)
        if (!m_spec.pool) return flat.clone();
        if (out.dims != 4) throw UsageError("--pool: the output is not 4-D (N x C x H x W)");
        const int c = out.size[1], hw = out.size[2] * out.size[3];
        cv::Mat pooled(n, c, CV_32F);
        for (int i = 0; i < n; ++i) {
            const float* src = flat.ptr<float>(i);
            for (int k = 0; k < c; ++k) {
                double sum = 0.0;
                for (int p = 0; p < hw; ++p) sum += src[k * hw + p];
                pooled.at<float>(i, k) = static_cast<float>(sum / hw);
            }
        }
        return pooled;
    }

    ModelSpec m_spec;
    std::size_t m_size = 0;
    std::string m_default_output;
    mutable std::mutex m_mutex;
    mutable std::vector<std::unique_ptr<cv::dnn::Net>> m_free;
};

}  // namespace

std::unique_ptr<Metric> make_deepnet_metric(const MetricOptions& options) {
    if (options.resize != 0) throw UsageError("--resize: only for ssim and mi (deepnet resizes to the model's input)");
    return std::make_unique<DeepNetMetric>(resolve_model(options.model));
}

}  // namespace lessmore
