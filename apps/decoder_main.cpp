// lessmore-decoder: the decoder worker process the lessmore program starts for files that
// only a third-party decoder reads (include/lessmore/decoder_pool.hpp). It links ITK and
// GDCM so that lessmore itself does not (docs/performance.md, "Start-up").
#include <lessmore/decoder_pool.hpp>
#include <lessmore/library_setup.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    lessmore::configure_libraries();
    if (const int worker = lessmore::decoder_worker_main(argc, argv); worker >= 0) return worker;
    std::fprintf(stderr, "lessmore-decoder: this program is started by lessmore to decode files; run lessmore\n");
    return 2;
}
