#pragma once
// The decoder tasks a worker process runs (io/decoder_pool.cpp): each reads one file with
// a third-party decoder and returns metadata (JSON text) and bytes.
#include <lessmore/decoder_pool.hpp>

#include <string>

namespace lessmore {

// Dispatches on the task name; throws InputError (the decoder refused the file) or any
// exception the task throws. What a task does if the decoder crashes is the point of
// running it in a worker: the process dies and the parent reports it.
DecodedData run_decoder_task(const std::string& task, const std::string& path, const std::string& args);

}  // namespace lessmore
