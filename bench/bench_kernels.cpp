// Kernel benchmarks (Google Benchmark): the per-slice work of HASH on 512x512 CT.
// Run: build/bench/lessmore_bench_kernels [--benchmark_filter=...]
#include <lessmore/base64.hpp>
#include <lessmore/cancel.hpp>
#include <lessmore/cross_volume.hpp>
#include <lessmore/decoder_pool.hpp>
#include <lessmore/dhash.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/embedder.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/library_setup.hpp>
#include <lessmore/load.hpp>
#include <lessmore/metric.hpp>
#include <lessmore/mutual_information.hpp>
#include <lessmore/neighbour_index.hpp>
#include <lessmore/png_writer.hpp>
#include <lessmore/resize_pillow.hpp>
#include <lessmore/ssim.hpp>
#include <lessmore/thread_pool.hpp>
#include <lessmore/unit_similarity.hpp>

#include <sys/resource.h>

#include <benchmark/benchmark.h>
#include <opencv2/dnn.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <cstdint>
#include <filesystem>
#include <random>
#include <vector>

namespace {

using namespace lessmore;

// A CT-like 512x512 int16 slice: air outside a disc of soft tissue with noise and bone.
std::vector<std::int16_t> ct_slice(unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0.0, 20.0);
    std::vector<std::int16_t> px(512 * 512);
    for (int y = 0; y < 512; ++y) {
        for (int x = 0; x < 512; ++x) {
            const double r = std::hypot(x - 256.0, y - 256.0);
            double v = r < 200 ? 40.0 : -1000.0;
            if (r < 30 + (seed % 7)) v = 1200.0;
            px[static_cast<std::size_t>(y) * 512 + x] = static_cast<std::int16_t>(v + noise(rng));
        }
    }
    return px;
}

Image8 ct_image(unsigned seed) {
    const auto px = ct_slice(seed);
    return to_8bit(SliceView{px.data(), VoxelType::Int16, 512, 512}, IntensityMapping{});
}

void BM_DHash512(benchmark::State& state) {
    const Image8 img = ct_image(1);
    const DHasher hasher(8);
    for (auto _ : state) benchmark::DoNotOptimize(hasher(img));
    state.SetItemsProcessed(state.iterations());
    state.SetLabel("slices/s per core");
}
BENCHMARK(BM_DHash512);

void BM_DHash512IncludingCoefficients(benchmark::State& state) {
    const Image8 img = ct_image(2);
    for (auto _ : state) benchmark::DoNotOptimize(dhash(img, 8));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DHash512IncludingCoefficients);

void BM_MinMaxTo8Bit512(benchmark::State& state) {
    const auto px = ct_slice(3);
    const SliceView view{px.data(), VoxelType::Int16, 512, 512};
    Image8 out(512, 512);
    for (auto _ : state) {
        to_8bit(view, IntensityMapping{}, out);
        benchmark::DoNotOptimize(out.pixels.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MinMaxTo8Bit512);

// The other per-slice kernels of HASH (docs/performance.md, section "Python package"):
// window mapping, 16-bit input over its whole range, the resize alone, and one slice's
// whole feature (8-bit mapping into a reused image, then dhash) as reduce prepares it.
void BM_WindowTo8Bit512(benchmark::State& state) {
    const auto px = ct_slice(7);
    const SliceView view{px.data(), VoxelType::Int16, 512, 512};
    const IntensityMapping window{IntensityMapping::Kind::Window, 40.0, 400.0};
    Image8 out(512, 512);
    for (auto _ : state) {
        to_8bit(view, window, out);
        benchmark::DoNotOptimize(out.pixels.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WindowTo8Bit512);

void BM_MinMaxTo8Bit512UInt16FullRange(benchmark::State& state) {
    std::vector<std::uint16_t> px(512 * 512);
    std::mt19937 rng(8);
    for (auto& v : px) v = static_cast<std::uint16_t>(rng());
    const SliceView view{px.data(), VoxelType::UInt16, 512, 512};
    Image8 out(512, 512);
    for (auto _ : state) {
        to_8bit(view, IntensityMapping{}, out);
        benchmark::DoNotOptimize(out.pixels.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MinMaxTo8Bit512UInt16FullRange);

void BM_ResizeLanczos512To9x8(benchmark::State& state) {
    const Image8 img = ct_image(9);
    const PillowLanczosResizer resizer(512, 512, 9, 8);
    for (auto _ : state) benchmark::DoNotOptimize(resizer.resize(img));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResizeLanczos512To9x8);

void BM_HashSlice512(benchmark::State& state) {
    const auto px = ct_slice(10);
    const SliceView view{px.data(), VoxelType::Int16, 512, 512};
    const DHasher hasher(8);
    Image8 image;
    for (auto _ : state) {
        to_8bit(view, IntensityMapping{}, image);
        benchmark::DoNotOptimize(hasher(image));
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel("slices/s per core");
}
BENCHMARK(BM_HashSlice512);

void BM_Hamming64(benchmark::State& state) {
    const DHash a = dhash(ct_image(4)), b = dhash(ct_image(5));
    for (auto _ : state) benchmark::DoNotOptimize(hamming_distance(a, b));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Hamming64);

void BM_EncodePng512(benchmark::State& state) {
    const Image8 img = ct_image(6);
    for (auto _ : state) benchmark::DoNotOptimize(encode_png(img));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodePng512);

// SSIM / NMI pairs on 512x512 slices: one core, and a batch of pairs on all threads.
void BM_SsimPair512(benchmark::State& state) {
    const SsimStats a = ssim_prepare(ct_image(7)), b = ssim_prepare(ct_image(8));
    for (auto _ : state) benchmark::DoNotOptimize(ssim_compare(a, b));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SsimPair512)->Unit(benchmark::kMicrosecond);

// A tile of 4 x 4 slices scored together, as `score` and the pairs strategy do (each
// slice's statistics read once per tile): pairs/s on one core.
void BM_SsimTile4x4(benchmark::State& state) {
    std::vector<SsimStats> stats;
    for (unsigned s = 0; s < 8; ++s) stats.push_back(ssim_prepare(ct_image(40 + s)));
    std::vector<const SsimStats*> slices;
    for (const SsimStats& s : stats) slices.push_back(&s);
    std::vector<std::pair<std::size_t, std::size_t>> pairs;
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 4; j < 8; ++j) pairs.emplace_back(i, j);
    std::vector<double> out(pairs.size());
    for (auto _ : state) {
        ssim_compare_pairs(slices, pairs, out.data());
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(pairs.size()));
}
BENCHMARK(BM_SsimTile4x4)->Unit(benchmark::kMillisecond);

// 3-D units (docs/performance.md, "3-D units (kernels)"): a 16x512x512 slab of CT-like
// slices mapped with one min-max, its SSIM data, and a pair of slabs on one core.
Unit8 ct_slab(unsigned seed) {
    std::vector<std::vector<std::int16_t>> slices;
    std::vector<SliceView> views;
    for (unsigned k = 0; k < 16; ++k) slices.push_back(ct_slice(seed * 16 + k));
    for (const auto& s : slices) views.push_back(SliceView{s.data(), VoxelType::Int16, 512, 512});
    return to_8bit_block(views, 0, 0, 512, 512, IntensityMapping{});
}

void BM_Ssim3dPair16x512(benchmark::State& state) {
    const Ssim3dStats a = ssim3d_prepare(ct_slab(1)), b = ssim3d_prepare(ct_slab(2));
    for (auto _ : state) benchmark::DoNotOptimize(ssim3d_compare(a, b));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ssim3dPair16x512)->Unit(benchmark::kMillisecond);

void BM_Ssim3dPrepare16x512(benchmark::State& state) {
    const Unit8 slab = ct_slab(3);
    for (auto _ : state) benchmark::DoNotOptimize(ssim3d_prepare(slab));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ssim3dPrepare16x512)->Unit(benchmark::kMillisecond);

void BM_Mi3dPair16x512(benchmark::State& state) {
    const MiStats a = mi3d_prepare(ct_slab(4)), b = mi3d_prepare(ct_slab(5));
    for (auto _ : state) benchmark::DoNotOptimize(mi3d_compare(a, b));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Mi3dPair16x512)->Unit(benchmark::kMillisecond);

void BM_SsimPrepare512(benchmark::State& state) {
    const Image8 img = ct_image(9);
    for (auto _ : state) benchmark::DoNotOptimize(ssim_prepare(img));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SsimPrepare512)->Unit(benchmark::kMicrosecond);

void BM_MiPair512(benchmark::State& state) {
    const MiStats a = mi_prepare(ct_image(10), 100), b = mi_prepare(ct_image(11), 100);
    for (auto _ : state) benchmark::DoNotOptimize(mi_compare(a, b));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MiPair512)->Unit(benchmark::kMicrosecond);

template <typename Stats, typename Compare>
void pairs_on_all_threads(benchmark::State& state, const std::vector<Stats>& stats, Compare compare) {
    ThreadPool pool(static_cast<int>(state.range(0)));
    const std::size_t batch = 64;
    std::vector<double> out(batch);
    for (auto _ : state) {
        pool.parallel_for(
            batch, [&](std::size_t k) { out[k] = compare(stats[k % stats.size()], stats[(k + 1) % stats.size()]); });
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}

void BM_SsimPairsThreads(benchmark::State& state) {
    std::vector<SsimStats> stats;
    for (unsigned s = 0; s < 8; ++s) stats.push_back(ssim_prepare(ct_image(20 + s)));
    pairs_on_all_threads(state, stats, [](const SsimStats& a, const SsimStats& b) { return ssim_compare(a, b); });
}
BENCHMARK(BM_SsimPairsThreads)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_MiPairsThreads(benchmark::State& state) {
    std::vector<MiStats> stats;
    for (unsigned s = 0; s < 8; ++s) stats.push_back(mi_prepare(ct_image(30 + s), 100));
    pairs_on_all_threads(state, stats, [](const MiStats& a, const MiStats& b) { return mi_compare(a, b); });
}
BENCHMARK(BM_MiPairsThreads)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// DeepNet: slices/s through the Embedder (area resize, blob, forward) with a batch of
// range(0) slices, and the forward pass alone on the same batch, on one thread. The model
// is the bundled one, or $LESSMORE_BENCH_MODEL (with its sidecar) when set.
ModelOptions bench_model() {
    ModelOptions o;
    if (const char* path = std::getenv("LESSMORE_BENCH_MODEL")) o.path = path;
    return o;
}

void BM_DeepNetEmbed(benchmark::State& state) {
    ModelOptions o = bench_model();
    o.batch = static_cast<int>(state.range(0));
    const Embedder embedder(o);
    std::vector<Image8> images;
    for (int i = 0; i < state.range(0); ++i) images.push_back(ct_image(40 + static_cast<unsigned>(i)));
    std::vector<const Image8*> batch;
    for (const auto& i : images) batch.push_back(&i);
    for (auto _ : state) benchmark::DoNotOptimize(embedder.embed(batch));
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DeepNetEmbed)->Arg(1)->Arg(4)->Arg(16)->Unit(benchmark::kMillisecond);

void BM_DeepNetForwardOnly(benchmark::State& state) {
    const ModelOptions o = bench_model();
    const std::string path =
        o.path.empty() ? std::string(LESSMORE_SOURCE_DIR) + "/models/mobilenet_v1_0.25_224_imagenet_embed.onnx"
                       : o.path;
    cv::setNumThreads(1);
    cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
    const int n = static_cast<int>(state.range(0));
    const int dims[4] = {n, 3, 224, 224};
    cv::Mat blob(4, dims, CV_32F, cv::Scalar(0.1));
    for (auto _ : state) {
        net.setInput(blob);
        benchmark::DoNotOptimize(net.forward());
    }
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_DeepNetForwardOnly)->Arg(1)->Arg(4)->Arg(16)->Unit(benchmark::kMillisecond);

// Reading one real 512x512 DICOM series (page cache warm), when the shared data is there.
void BM_LoadDicomSeries(benchmark::State& state) {
    const std::filesystem::path dir = std::filesystem::path(LESSMORE_SHARED_DATA) / "pancreas-ct-cb-001";
    if (!std::filesystem::exists(dir)) {
        state.SkipWithError("shared data not found");
        return;
    }
    const Discovery d = discover({dir.string()});
    ThreadPool pool(static_cast<int>(state.range(0)));
    CancelToken cancel;
    std::size_t slices = 0;
    for (auto _ : state) {
        auto loaded = load_source(d.sources.at(0), LoadOptions{}, pool, cancel);
        slices += loaded.at(0).volume->slice_count();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(slices));
}
BENCHMARK(BM_LoadDicomSeries)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

// The cross-volume pass of --scope dataset (include/lessmore/cross_volume.hpp) at dataset
// scale, on features that look like a real dataset's: 64-bit dhashes of the real CT slices
// in the shared data, each volume a run of 20 consecutive slices of one of them with the
// same number of random bits (0..16, per volume) flipped in every slice, so that some
// volumes are copies, some re-noised copies and most new. Peak RSS is reported (run one
// benchmark per process: bench/bench_scope.sh does).
std::vector<std::uint64_t> real_ct_hashes() {
    std::vector<std::uint64_t> out;
    const std::filesystem::path dir(LESSMORE_SHARED_DATA);
    if (!std::filesystem::exists(dir)) return out;
    ThreadPool pool(2);
    CancelToken cancel;
    const DHasher hasher(8);
    for (const Source& source : discover({dir.string()}).sources) {
        for (const LoadedVolume& loaded : load_source(source, LoadOptions{}, pool, cancel)) {
            if (!loaded.volume) continue;
            for (std::size_t k = 0; k < loaded.volume->slice_count(); ++k)
                out.push_back(hasher(to_8bit(loaded.volume->slice(k), IntensityMapping{})).words.at(0));
        }
    }
    return out;
}

struct FeatureSet {
    std::unique_ptr<Metric> metric;
    std::vector<std::unique_ptr<Feature>> owned;
    std::vector<std::vector<const Feature*>> volumes;
};

double peak_rss_mb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

FeatureSet hash_dataset(std::size_t slices, bool uniform) {
    static constexpr std::size_t k_per_volume = 20;
    FeatureSet set;
    set.metric = make_metric(MetricOptions{});
    std::vector<std::uint64_t> base = uniform ? std::vector<std::uint64_t>{} : real_ct_hashes();
    std::mt19937_64 rng(12);
    set.owned.reserve(slices);
    char hex[17];
    for (std::size_t v = 0; v * k_per_volume < slices; ++v) {
        set.volumes.emplace_back();
        const std::size_t start = base.empty() ? 0 : rng() % base.size();
        const int flips = static_cast<int>(rng() % 17);
        for (std::size_t k = 0; k < k_per_volume; ++k) {
            std::uint64_t h = rng();
            if (!base.empty()) {
                h = base[(start + k) % base.size()];
                for (int f = 0; f < flips; ++f) h ^= 1ull << (rng() % 64);
            }
            std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
            set.owned.push_back(set.metric->feature_from_text(hex));
            set.volumes.back().push_back(set.owned.back().get());
        }
    }
    return set;
}

// Times the pass over `set` with the metric's index (or a brute-force one) and reports the
// fraction removed and the peak RSS.
void run_pass(benchmark::State& state, const FeatureSet& set, double threshold, bool brute_force) {
    ThreadPool pool(2);
    CrossDecisions d;
    for (auto _ : state) {
        d = cross_volume_pass(
            set.volumes, *set.metric, threshold,
            [&]() -> std::unique_ptr<NeighbourIndex> {
                if (brute_force) return std::make_unique<BruteForceIndex>();
                return set.metric->make_index(threshold, pool.size());
            },
            pool);
    }
    const std::size_t slices = set.owned.size();
    std::size_t removed = 0;
    for (const auto& v : d)
        for (const auto& m : v) removed += m.has_value();
    state.SetItemsProcessed(static_cast<std::int64_t>(slices) * state.iterations());
    state.counters["removed_fraction"] = static_cast<double>(removed) / static_cast<double>(slices);
    state.counters["peak_rss_MB"] = peak_rss_mb();
}

// Args: kept slices, threshold, 1 for uniform random hashes (the index's easy case).
void BM_ScopePassHash(benchmark::State& state) {
    const FeatureSet set = hash_dataset(static_cast<std::size_t>(state.range(0)), state.range(2) == 1);
    run_pass(state, set, static_cast<double>(state.range(1)), false);
}
BENCHMARK(BM_ScopePassHash)
    ->Args({1000000, 3, 0})
    ->Args({1000000, 6, 0})
    ->Args({1000000, 12, 0})
    ->Args({1000000, 6, 1})
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->Iterations(1);

// The same pass over every pair, as a global brute-force tool does (smaller: it is
// quadratic); Args: kept slices, threshold.
void BM_ScopePassHashBruteForce(benchmark::State& state) {
    const FeatureSet set = hash_dataset(static_cast<std::size_t>(state.range(0)), false);
    run_pass(state, set, static_cast<double>(state.range(1)), true);
}
BENCHMARK(BM_ScopePassHashBruteForce)->Args({100000, 6})->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

// DeepNet: 256-value embeddings (the bundled model's size) of ReLU features, around 2,000
// anatomies, each volume 20 embeddings of one anatomy with its own noise level.
FeatureSet embedding_dataset(std::size_t slices) {
    FeatureSet set;
    MetricOptions options;
    options.method = "deepnet";
    set.metric = make_metric(options);
    constexpr std::size_t k_dims = 256, k_per_volume = 20;
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<std::vector<float>> centres(2000, std::vector<float>(k_dims));
    for (auto& c : centres)
        for (float& x : c) x = std::max(0.0f, normal(rng));
    std::string bytes(k_dims * 4, '\0');
    for (std::size_t v = 0; v * k_per_volume < slices; ++v) {
        set.volumes.emplace_back();
        const auto& centre = centres[rng() % centres.size()];
        const float noise = 0.1f * static_cast<float>(rng() % 10);
        for (std::size_t k = 0; k < k_per_volume; ++k) {
            std::vector<float> e = centre;
            for (float& x : e) x = std::max(0.0f, x + noise * normal(rng));
            std::memcpy(bytes.data(), e.data(), bytes.size());
            set.owned.push_back(set.metric->feature_from_text(base64_encode(bytes)));
            set.volumes.back().push_back(set.owned.back().get());
        }
    }
    return set;
}

// Args: embeddings, threshold x 100.
void BM_ScopePassDeepNet(benchmark::State& state) {
    const FeatureSet set = embedding_dataset(static_cast<std::size_t>(state.range(0)));
    run_pass(state, set, static_cast<double>(state.range(1)) / 100.0, false);
}
BENCHMARK(BM_ScopePassDeepNet)
    ->Args({100000, 95})
    ->Args({100000, 99})
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->Iterations(1);

}  // namespace

// Like the CLI: library settings first, and a decoder worker when asked to be one.
int main(int argc, char** argv) {
    lessmore::configure_libraries();
    if (const int worker = lessmore::decoder_worker_main(argc, argv); worker >= 0) return worker;
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
