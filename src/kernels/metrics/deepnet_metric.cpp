// DeepNet: cosine similarity of the L2-normalised CNN embeddings; similar iff
// cosine >= threshold.
#include "kernels/metrics/deepnet_metric.hpp"

#include <lessmore/embedder.hpp>
#include <lessmore/error.hpp>
#include <lessmore/number_format.hpp>
#include <lessmore/pruning.hpp>

#include <opencv2/core.hpp>

#include <cmath>

namespace lessmore {
namespace {

class EmbeddingFeature final : public Feature {
public:
    std::vector<double> unit;  // L2-normalised (all zeros when the embedding is zero)
};

class DeepNetMetric final : public Metric {
public:
    explicit DeepNetMetric(const ModelOptions& options) : m_embedder(options) {}

    std::string name() const override { return "deepnet"; }
    Sense sense() const override { return Sense::HigherIsSimilar; }
    bool cheap_compare() const override { return true; }
    std::size_t batch_size() const override { return static_cast<std::size_t>(m_embedder.batch()); }

    void check_threshold(double t) const override {
        if (!(t >= -1.0 && t <= 1.0)) {
            throw UsageError("--threshold: for deepnet it is a cosine, from -1 to 1 (got " + format_number(t) + ")");
        }
    }

    std::unique_ptr<Feature> prepare(const Image8& image) const override {
        return std::move(prepare_batch({&image}).front());
    }

    std::vector<std::unique_ptr<Feature>> prepare_batch(const std::vector<const Image8*>& images) const override {
        std::vector<std::unique_ptr<Feature>> features;
        for (const std::vector<float>& v : m_embedder.embed(images)) {
            auto f = std::make_unique<EmbeddingFeature>();
            double norm = 0.0;
            for (float x : v) norm += static_cast<double>(x) * x;
            norm = std::sqrt(norm);
            f->unit.resize(v.size());
            for (std::size_t i = 0; i < v.size(); ++i) f->unit[i] = norm > 0 ? v[i] / norm : 0.0;
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
        // All cosines of a volume as one matrix product E E^T.
        const int n = static_cast<int>(features.size());
        cv::Mat e(n, static_cast<int>(m_embedder.size()), CV_64F);
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

    const ModelDescription* model() const override { return &m_embedder.description(); }

private:
    Embedder m_embedder;
};

}  // namespace

std::unique_ptr<Metric> make_deepnet_metric(const MetricOptions& options) {
    if (options.resize != 0) throw UsageError("--resize: only for ssim and mi (deepnet resizes to the model's input)");
    return std::make_unique<DeepNetMetric>(options.model);
}

}  // namespace lessmore
