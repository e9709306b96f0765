// PNG encoders and settings for lessmore's 8-bit slices: time per slice and size, on real
// slices (PNG files lessmore wrote, decoded here with libpng), each encoding checked to
// decode back to the same pixels. Times are CPU time of this process (on a machine shared
// with other work, wall-clock time measures the load). Built and run by
// bench/bench_png_encoders.sh.
//   zlib through libpng: compression level x filter x strategy
//   libspng (Debian libspng-dev): its defaults and level 1 / filter sub / RLE
//   libdeflate (Debian libdeflate-dev; lessmore's deflate before ISA-L): level x filter, the
//   PNG chunks written here as lessmore writes them
//   ISA-L's igzip (Debian libisal-dev; what lessmore uses, src/io/image_codec.cpp): levels
//   0-3, the same filters and chunks
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <png.h>
#include <spng.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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

// One PNG filter for every row (PNG filter types 0 none, 1 sub, 2 up, 4 paeth), deflated by
// libdeflate (or ISA-L's igzip) at `level`, framed in signature, IHDR, IDAT and IEND with their CRCs.
std::string deflate_encode(const Slice& s, int level, int filter, bool isal) {
    const std::size_t w = static_cast<std::size_t>(s.w), h = static_cast<std::size_t>(s.h);
    std::vector<unsigned char> f((w + 1) * h);
    for (std::size_t y = 0; y < h; ++y) {
        const unsigned char* in = s.px.data() + y * w;
        const unsigned char* up = y > 0 ? in - w : nullptr;
        unsigned char* out = f.data() + y * (w + 1);
        out[0] = static_cast<unsigned char>(filter);
        if (filter == 0) {
            std::memcpy(out + 1, in, w);
        } else if (filter == 1) {
            out[1] = in[0];
            for (std::size_t x = 1; x < w; ++x) out[1 + x] = static_cast<unsigned char>(in[x] - in[x - 1]);
        } else if (filter == 2) {
            for (std::size_t x = 0; x < w; ++x) out[1 + x] = static_cast<unsigned char>(in[x] - (up ? up[x] : 0));
        } else {
            for (std::size_t x = 0; x < w; ++x) {
                const int a = x > 0 ? in[x - 1] : 0, b = up ? up[x] : 0, c = x > 0 && up ? up[x - 1] : 0;
                const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
                out[1 + x] = static_cast<unsigned char>(in[x] - (pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)));
            }
        }
    }
    std::vector<unsigned char> z;
    std::size_t n = 0;
    if (isal) {
        // Stateless: the whole stream in one call; level 1-3 need a level buffer.
        static const std::uint32_t buf_size[] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT,
                                                 ISAL_DEF_LVL3_DEFAULT};
        std::vector<std::uint8_t> level_buf(buf_size[level]);
        z.resize(f.size() + f.size() / 16 + 1024);
        isal_zstream st;
        isal_deflate_stateless_init(&st);
        st.level = static_cast<std::uint32_t>(level);
        st.level_buf = level_buf.data();
        st.level_buf_size = static_cast<std::uint32_t>(level_buf.size());
        st.gzip_flag = IGZIP_ZLIB;
        st.end_of_stream = 1;
        st.flush = NO_FLUSH;
        st.next_in = f.data();
        st.avail_in = static_cast<std::uint32_t>(f.size());
        st.next_out = z.data();
        st.avail_out = static_cast<std::uint32_t>(z.size());
        if (isal_deflate_stateless(&st) != COMP_OK) return {};
        n = st.total_out;
    } else {
        libdeflate_compressor* comp = libdeflate_alloc_compressor(level);
        z.resize(libdeflate_zlib_compress_bound(comp, f.size()));
        n = libdeflate_zlib_compress(comp, f.data(), f.size(), z.data(), z.size());
        libdeflate_free_compressor(comp);
    }
    std::string out("\x89PNG\r\n\x1a\n", 8);
    const auto u32 = [&](std::uint32_t v) {
        for (int sh = 24; sh >= 0; sh -= 8) out.push_back(static_cast<char>((v >> sh) & 0xff));
    };
    const auto chunk = [&](const char* type, const unsigned char* data, std::size_t size) {
        u32(static_cast<std::uint32_t>(size));
        const std::size_t at = out.size();
        out.append(type, 4);
        out.append(reinterpret_cast<const char*>(data), size);
        u32(libdeflate_crc32(0, out.data() + at, size + 4));
    };
    const unsigned char ihdr[13] = {static_cast<unsigned char>(s.w >> 24),
                                    static_cast<unsigned char>(s.w >> 16),
                                    static_cast<unsigned char>(s.w >> 8),
                                    static_cast<unsigned char>(s.w),
                                    static_cast<unsigned char>(s.h >> 24),
                                    static_cast<unsigned char>(s.h >> 16),
                                    static_cast<unsigned char>(s.h >> 8),
                                    static_cast<unsigned char>(s.h),
                                    8,
                                    0,
                                    0,
                                    0,
                                    0};
    chunk("IHDR", ihdr, sizeof ihdr);
    chunk("IDAT", z.data(), n);
    chunk("IEND", nullptr, 0);
    return out;
}

double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

enum class Encoder { Libpng, Spng, Libdeflate, Isal };

struct Config {
    const char* name;
    Encoder encoder;
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
        {"libpng zlib 1, sub, RLE (lessmore before 592cb04; OpenCV's default)", Encoder::Libpng, 1, PNG_FILTER_SUB,
         Z_RLE},
        {"libpng zlib 1, none, RLE", Encoder::Libpng, 1, PNG_FILTER_NONE, Z_RLE},
        {"libpng zlib 1, up, RLE", Encoder::Libpng, 1, PNG_FILTER_UP, Z_RLE},
        {"libpng zlib 1, sub, default strategy", Encoder::Libpng, 1, PNG_FILTER_SUB, Z_DEFAULT_STRATEGY},
        {"libpng zlib 1, sub, Huffman only", Encoder::Libpng, 1, PNG_FILTER_SUB, Z_HUFFMAN_ONLY},
        {"libpng zlib 1, paeth, RLE", Encoder::Libpng, 1, PNG_FILTER_PAETH, Z_RLE},
        {"libpng zlib 1, adaptive (all filters), RLE", Encoder::Libpng, 1, PNG_ALL_FILTERS, Z_RLE},
        {"libpng zlib 3, sub, RLE", Encoder::Libpng, 3, PNG_FILTER_SUB, Z_RLE},
        {"libpng zlib 6, sub, default strategy", Encoder::Libpng, 6, PNG_FILTER_SUB, Z_DEFAULT_STRATEGY},
        {"libpng zlib 6, adaptive, default (libpng's defaults)", Encoder::Libpng, 6, PNG_ALL_FILTERS,
         Z_DEFAULT_STRATEGY},
        {"libspng zlib 1, sub, RLE", Encoder::Spng, 1, SPNG_FILTER_CHOICE_SUB, Z_RLE},
        {"libspng zlib 1, none, Huffman only", Encoder::Spng, 1, SPNG_DISABLE_FILTERING, Z_HUFFMAN_ONLY},
        {"libspng defaults", Encoder::Spng, -1, 0, 0},
        {"libdeflate 1, sub (lessmore from 592cb04 to this change)", Encoder::Libdeflate, 1, 1, 0},
        {"libdeflate 1, none", Encoder::Libdeflate, 1, 0, 0},
        {"libdeflate 1, up", Encoder::Libdeflate, 1, 2, 0},
        {"libdeflate 1, paeth", Encoder::Libdeflate, 1, 4, 0},
        {"libdeflate 2, sub", Encoder::Libdeflate, 2, 1, 0},
        {"libdeflate 0 (stored, no compression), none", Encoder::Libdeflate, 0, 0, 0},
        {"ISA-L igzip 0, sub", Encoder::Isal, 0, 1, 0},
        {"ISA-L igzip 1, sub (lessmore today)", Encoder::Isal, 1, 1, 0},
        {"ISA-L igzip 1, up", Encoder::Isal, 1, 2, 0},
        {"ISA-L igzip 1, none", Encoder::Isal, 1, 0, 0},
        {"ISA-L igzip 2, sub", Encoder::Isal, 2, 1, 0},
        {"ISA-L igzip 3, sub", Encoder::Isal, 3, 1, 0},
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
                const std::string png = c.encoder == Encoder::Spng ? spng_encode(s, c.level, c.filter, c.strategy)
                                        : c.encoder == Encoder::Libpng
                                            ? libpng_encode(s, c.level, c.filter, c.strategy)
                                            : deflate_encode(s, c.level, c.filter, c.encoder == Encoder::Isal);
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
