// Kernel benchmarks (Google Benchmark): the per-slice work of HASH on 512x512 CT.
// Run: build/bench/lessmore_bench_kernels [--benchmark_filter=...]
#include <lessmore/decoder_pool.hpp>
#include <lessmore/dhash.hpp>
#include <lessmore/library_setup.hpp>
#include <lessmore/embedder.hpp>
#include <lessmore/intensity.hpp>
#include <lessmore/resize_pillow.hpp>
#include <lessmore/mutual_information.hpp>
#include <lessmore/ssim.hpp>
#include <lessmore/cancel.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/load.hpp>
#include <lessmore/thread_pool.hpp>
#include <lessmore/png_writer.hpp>

#include <benchmark/benchmark.h>
#include <opencv2/dnn.hpp>

#include <cstdlib>

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
        pool.parallel_for(batch, [&](std::size_t k) { out[k] = compare(stats[k % stats.size()], stats[(k + 1) % stats.size()]); });
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
    const std::string path = o.path.empty() ? std::string(LESSMORE_SOURCE_DIR) + "/models/mobilenet_v1_0.25_224_imagenet_embed.onnx" : o.path;
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
