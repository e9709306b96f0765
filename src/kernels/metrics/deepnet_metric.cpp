// DeepNet: cosine similarity of the L2-normalised CNN embeddings; similar iff
// cosine >= threshold.
#include "kernels/metrics/deepnet_metric.hpp"
#include "kernels/metrics/faiss_index.hpp"

#include <lessmore/base64.hpp>

#include <lessmore/embedder.hpp>
#include <lessmore/error.hpp>
#include <lessmore/number_format.hpp>
#include <lessmore/pruning.hpp>

#include <opencv2/core.hpp>

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace lessmore {
namespace {

class EmbeddingFeature final : public Feature {
public:
    explicit EmbeddingFeature(std::vector<float> v) : raw(std::move(v)) {
        double norm = 0.0;
        for (float x : raw) norm += static_cast<double>(x) * x;
        norm = std::sqrt(norm);
        unit.resize(raw.size());
        for (std::size_t i = 0; i < raw.size(); ++i) unit[i] = norm > 0 ? raw[i] / norm : 0.0;
    }
    std::vector<float> raw;    // the model's output (what run records keep)
    std::vector<double> unit;  // L2-normalised (all zeros when the embedding is zero)
};

// The description of embeddings computed elsewhere (--features): no model ran here.
ModelDescription features_description(const ModelOptions& o) {
    ModelDescription d;
    d.name = "features:" + o.features_dir;
    d.runtime = "features";
    d.embedding_size = *o.feature_size;
    d.batch = 1;
    return d;
}

class DeepNetMetric final : public Metric {
public:
    explicit DeepNetMetric(const ModelOptions& options) {
        if (options.feature_size) {
            if (*options.feature_size == 0) throw UsageError("--features: the embeddings are empty");
            m_description = features_description(options);
            m_rows = options.feature_rows;
        } else {
            m_embedder = std::make_unique<Embedder>(options);
            m_description = m_embedder->description();
        }
        m_size = m_description.embedding_size;
    }

    std::string name() const override { return "deepnet"; }
    Sense sense() const override { return Sense::HigherIsSimilar; }
    bool cheap_compare() const override { return true; }
    std::size_t batch_size() const override { return static_cast<std::size_t>(m_description.batch); }
    bool takes_values() const override { return m_embedder && m_embedder->takes_values(); }

    void check_threshold(double t) const override {
        if (!(t >= -1.0 && t <= 1.0)) {
            throw UsageError("--threshold: for deepnet it is a cosine, from -1 to 1 (got " + format_number(t) + ")");
        }
    }

    std::unique_ptr<Feature> prepare(const Image8& image) const override {
        return std::move(prepare_batch({&image}).front());
    }

    std::vector<std::unique_ptr<Feature>> prepare_batch(const std::vector<const Image8*>& images) const override {
        return wrap(embedder().embed(images));
    }

    std::vector<std::unique_ptr<Feature>> prepare_values(const std::vector<SliceView>& slices) const override {
        return wrap(embedder().embed_values(slices));
    }

    std::vector<std::unique_ptr<Feature>> prepare_units(const std::vector<UnitCrop>& units,
                                                        const IntensityMapping& intensity) const override {
        return wrap(embedder().embed_units(units, intensity));
    }

    std::optional<std::vector<float>> feature_values(const Feature& f) const override {
        return static_cast<const EmbeddingFeature&>(f).raw;
    }

    std::unique_ptr<Feature> feature_from_values(std::vector<float> values) const override {
        if (values.size() != m_size) {
            throw Error("an embedding of " + std::to_string(values.size()) + " values, not " + std::to_string(m_size));
        }
        for (float x : values)
            if (!std::isfinite(x)) throw Error("an embedding value is not finite");
        return std::make_unique<EmbeddingFeature>(std::move(values));
    }

    std::size_t feature_size() const override { return m_size; }

    std::vector<std::unique_ptr<Feature>> precomputed(const std::string& id, std::size_t slices) const override {
        if (m_embedder) return {};
        if (!m_rows) throw std::logic_error("DeepNet: --features without a reader");
        std::vector<std::unique_ptr<Feature>> out;
        for (std::vector<float>& row : m_rows(id, slices)) out.push_back(feature_from_values(std::move(row)));
        return out;
    }

    double compare(const Feature& a, const Feature& b) const override {
        const auto& x = static_cast<const EmbeddingFeature&>(a).unit;
        const auto& y = static_cast<const EmbeddingFeature&>(b).unit;
        double dot = 0.0;
        for (std::size_t i = 0; i < x.size(); ++i) dot += x[i] * y[i];
        return dot;
    }

    bool pairwise(const std::vector<const Feature*>& features, ScoreMatrix& out) const override {
        // All cosines of a volume as one matrix product E E^T.
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

    const ModelDescription* model() const override { return &m_description; }

    // The float32 values, little endian, in base64.
    std::optional<std::string> feature_text(const Feature& f) const override {
        const auto& raw = static_cast<const EmbeddingFeature&>(f).raw;
        std::string bytes(raw.size() * 4, '\0');
        for (std::size_t i = 0; i < raw.size(); ++i) {
            std::uint32_t u;
            std::memcpy(&u, &raw[i], 4);
            for (int b = 0; b < 4; ++b)
                bytes[i * 4 + static_cast<std::size_t>(b)] = static_cast<char>((u >> (8 * b)) & 0xff);
        }
        return base64_encode(bytes);
    }

    std::unique_ptr<Feature> feature_from_text(const std::string& text) const override {
        const auto bytes = base64_decode(text);
        if (!bytes || bytes->size() != m_size * 4) {
            throw Error("not an embedding of " + std::to_string(m_size) + " values in base64");
        }
        std::vector<float> raw(m_size);
        for (std::size_t i = 0; i < raw.size(); ++i) {
            std::uint32_t u = 0;
            for (int b = 0; b < 4; ++b)
                u |= std::uint32_t{static_cast<unsigned char>((*bytes)[i * 4 + static_cast<std::size_t>(b)])}
                     << (8 * b);
            std::memcpy(&raw[i], &u, 4);
            if (!std::isfinite(raw[i])) throw Error("an embedding value is not finite");
        }
        return std::make_unique<EmbeddingFeature>(std::move(raw));
    }

    std::unique_ptr<NeighbourIndex> make_index(double threshold, int threads) const override {
        return make_cosine_index(m_size, threshold, threads,
                                 [](const Feature& f) { return static_cast<const EmbeddingFeature&>(f).unit.data(); });
    }

private:
    const Embedder& embedder() const {
        // --features: the pipeline takes the features from the files and never asks for
        // slices to be prepared.
        if (!m_embedder) throw std::logic_error("DeepNet: no model to embed slices with (--features)");
        return *m_embedder;
    }
    static std::vector<std::unique_ptr<Feature>> wrap(std::vector<std::vector<float>> embeddings) {
        std::vector<std::unique_ptr<Feature>> features;
        for (std::vector<float>& v : embeddings) features.push_back(std::make_unique<EmbeddingFeature>(std::move(v)));
        return features;
    }

    std::unique_ptr<Embedder> m_embedder;                                                    // null with --features
    std::function<std::vector<std::vector<float>>(const std::string&, std::size_t)> m_rows;  // --features
    ModelDescription m_description;
    std::size_t m_size = 0;
};

}  // namespace

std::unique_ptr<Metric> make_deepnet_metric(const MetricOptions& options) {
    if (options.resize != 0) throw UsageError("--resize: only for ssim and mi (deepnet resizes to the model's input)");
    return std::make_unique<DeepNetMetric>(options.model);
}

}  // namespace lessmore
