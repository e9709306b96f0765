// The decoder worker of the Python package (include/lessmore/decoder_pool.hpp): the engine
// runs third-party decoders in worker processes started from a program, and inside Python
// "this program" is the interpreter, so the package ships this one beside its extension
// and names it in every config (python/lessmore/_api.py).
#include <lessmore/decoder_pool.hpp>
#include <lessmore/library_setup.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    lessmore::configure_libraries();
    const int code = lessmore::decoder_worker_main(argc, argv);
    if (code >= 0) return code;
    std::fputs("lessmore-decoder: the Python package's decoder worker; not meant to be run by hand\n", stderr);
    return 2;
}
