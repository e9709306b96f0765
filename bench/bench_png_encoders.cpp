// PNG encoders and settings for lessmore's 8-bit slices: time per slice and size, on real
// slices (PNG files lessmore wrote, decoded here with libpng), each encoding checked to
// decode back to the same pixels. Times are CPU time of this process (on a machine shared
// with other work, wall-clock time measures the load). Built and run by
// bench/bench_png_encoders.sh.
//   zlib through libpng: compression level x filter x strategy
//   libspng (Debian libspng-dev): its defaults and level 1 / filter sub / RLE
#include <png.h>
#include <spng.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

struct Slice {
    int w = 0, h = 0;
    std::vector<unsigned char> px;
};

Slice read_png(const char* path) {
    Slice s;
    png_image img{};
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) return s;
    img.format = PNG_FORMAT_GRAY;
    s.w = static_cast<int>(img.width);
    s.h = static_cast<int>(img.height);
    s.px.resize(PNG_IMAGE_SIZE(img));
    if (!png_image_finish_read(&img, nullptr, s.px.data(), 0, nullptr)) s.px.clear();
    return s;
}

std::vector<unsigned char> decode(const std::string& png, int& w, int& h) {
    png_image img{};
    img.version = PNG_IMAGE_VERSION;
    std::vector<unsigned char> px;
    if (!png_image_begin_read_from_memory(&img, png.data(), png.size())) return px;
    img.format = PNG_FORMAT_GRAY;
    w = static_cast<int>(img.width);
    h = static_cast<int>(img.height);
    px.resize(PNG_IMAGE_SIZE(img));
    if (!png_image_finish_read(&img, nullptr, px.data(), 0, nullptr)) px.clear();
    return px;
}

std::string libpng_encode(const Slice& s, int level, int filter, int strategy) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    std::string out;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return {};
    }
    png_set_write_fn(
        png, &out,
        [](png_structp p, png_bytep d, png_size_t n) {
            static_cast<std::string*>(png_get_io_ptr(p))->append(reinterpret_cast<const char*>(d), n);
        },
        nullptr);
    png_set_IHDR(png, info, static_cast<png_uint_32>(s.w), static_cast<png_uint_32>(s.h), 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, level);
    png_set_compression_strategy(png, strategy);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, filter);
    png_write_info(png, info);
    for (int y = 0; y < s.h; ++y) png_write_row(png, const_cast<png_bytep>(s.px.data() + static_cast<size_t>(y) * s.w));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return out;
}

std::string spng_encode(const Slice& s, int level, int filter, int strategy) {
    spng_ctx* ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    if (level >= 0) {
        spng_set_option(ctx, SPNG_IMG_COMPRESSION_LEVEL, level);
        spng_set_option(ctx, SPNG_FILTER_CHOICE, filter);
        spng_set_option(ctx, SPNG_IMG_COMPRESSION_STRATEGY, strategy);
    }
    spng_ihdr ihdr{};
    ihdr.width = static_cast<uint32_t>(s.w);
    ihdr.height = static_cast<uint32_t>(s.h);
    ihdr.bit_depth = 8;
    ihdr.color_type = SPNG_COLOR_TYPE_GRAYSCALE;
    spng_set_ihdr(ctx, &ihdr);
    std::string out;
    if (spng_encode_image(ctx, s.px.data(), s.px.size(), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE) == 0) {
        size_t n = 0;
        int err = 0;
        void* buf = spng_get_png_buffer(ctx, &n, &err);
        if (buf) out.assign(static_cast<const char*>(buf), n);
        std::free(buf);
    }
    spng_ctx_free(ctx);
    return out;
}

double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct Config {
    const char* name;
    bool spng;
    int level, filter, strategy;
};

}  // namespace

int main(int argc, char** argv) {
    std::vector<Slice> slices;
    for (int i = 1; i < argc; ++i) {
        Slice s = read_png(argv[i]);
        if (!s.px.empty()) slices.push_back(std::move(s));
    }
    if (slices.empty()) {
        std::fprintf(stderr, "bench_png_encoders: give PNG files\n");
        return 2;
    }
    const Config configs[] = {
        {"libpng zlib 1, sub, RLE (lessmore today; OpenCV's default)", false, 1, PNG_FILTER_SUB, Z_RLE},
        {"libpng zlib 1, none, RLE", false, 1, PNG_FILTER_NONE, Z_RLE},
        {"libpng zlib 1, up, RLE", false, 1, PNG_FILTER_UP, Z_RLE},
        {"libpng zlib 1, sub, default strategy", false, 1, PNG_FILTER_SUB, Z_DEFAULT_STRATEGY},
        {"libpng zlib 1, sub, Huffman only", false, 1, PNG_FILTER_SUB, Z_HUFFMAN_ONLY},
        {"libpng zlib 1, paeth, RLE", false, 1, PNG_FILTER_PAETH, Z_RLE},
        {"libpng zlib 1, adaptive (all filters), RLE", false, 1, PNG_ALL_FILTERS, Z_RLE},
        {"libpng zlib 3, sub, RLE", false, 3, PNG_FILTER_SUB, Z_RLE},
        {"libpng zlib 6, sub, default strategy", false, 6, PNG_FILTER_SUB, Z_DEFAULT_STRATEGY},
        {"libpng zlib 6, adaptive, default (libpng's defaults)", false, 6, PNG_ALL_FILTERS, Z_DEFAULT_STRATEGY},
        {"libspng zlib 1, sub, RLE", true, 1, SPNG_FILTER_CHOICE_SUB, Z_RLE},
        {"libspng zlib 1, none, Huffman only", true, 1, SPNG_DISABLE_FILTERING, Z_HUFFMAN_ONLY},
        {"libspng defaults", true, -1, 0, 0},
    };
    std::size_t raw = 0;
    for (const auto& s : slices) raw += s.px.size();
    std::printf("%zu slices, %.1f MB of 8-bit pixels; median of 5 passes over all slices, one thread, CPU time\n\n",
                slices.size(), static_cast<double>(raw) / 1e6);
    std::printf("| encoder and settings | ms per 512x512 slice | MB/s in | size, %% of raw | exact |\n");
    std::printf("|---|---:|---:|---:|---|\n");
    for (const auto& c : configs) {
        std::vector<double> times;
        std::size_t bytes = 0;
        bool exact = true;
        for (int pass = 0; pass < 5; ++pass) {
            bytes = 0;
            const double t0 = cpu_seconds();
            for (const auto& s : slices) {
                const std::string png = c.spng ? spng_encode(s, c.level, c.filter, c.strategy)
                                               : libpng_encode(s, c.level, c.filter, c.strategy);
                bytes += png.size();
                if (pass == 0) {
                    int w = 0, h = 0;
                    exact = exact && decode(png, w, h) == s.px && w == s.w && h == s.h;
                }
            }
            times.push_back(cpu_seconds() - t0);
        }
        std::sort(times.begin(), times.end());
        const double t = times[2];
        const double per512 = t / (static_cast<double>(raw) / (512.0 * 512.0)) * 1e3;
        std::printf("| %s | %.3f | %.0f | %.1f | %s |\n", c.name, per512, static_cast<double>(raw) / t / 1e6,
                    100.0 * static_cast<double>(bytes) / static_cast<double>(raw), exact ? "yes" : "NO");
    }
    return 0;
}
