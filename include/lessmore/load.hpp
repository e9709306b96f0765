#pragma once
// Reading the volumes of a source: the one entry to the format readers.
#include <lessmore/cancel.hpp>
#include <lessmore/decoder_pool.hpp>
#include <lessmore/discovery.hpp>
#include <lessmore/volume.hpp>

#include <memory>
#include <string>
#include <vector>

namespace lessmore {

class ThreadPool;

enum class SliceOrder {
    Position,  // DICOM: ImagePositionPatient along the slice normal; images: natural name order
    Name       // byte-wise order of the source file names (what the authors' scripts did)
};

struct LoadOptions {
    SliceOrder order = SliceOrder::Position;
    bool include_localizers = false;  // DICOM ImageType LOCALIZER (scouts) are skipped unless asked for
    // A volume that can be read in slice order without holding it whole (a NIfTI file, a
    // DICOM series of single-frame files) may come as a SliceStream instead of a Volume.
    bool streams = false;
    // The slices a stream is asked for at a time (for --max-memory's count of a stream).
    std::size_t stream_slices = 16;
    // The program started as decoder worker (include/lessmore/decoder_pool.hpp).
    std::string decoder_program = "/proc/self/exe";
};

// A volume read slice by slice, in slice order, each slice once: memory stays that of
// the slices in hand, whatever the volume's length.
class SliceStream {
public:
    virtual ~SliceStream() = default;
    // What the volume holds (every slice's file and position, the value type).
    virtual const VolumeInfo& info() const = 0;
    // The next `count` slices, in info().type, into out (count * slice_bytes() bytes).
    // Throws InputError when the data turns out damaged (the volume then fails whole).
    virtual void read(std::size_t count, std::byte* out) = 0;
    // Whether read_slice serves this stream: each slice read on its own, from any thread,
    // several at once (a series of single-frame DICOM files: a file per slice). The reader
    // can then read a slice and work on it in one task, and read while it writes.
    virtual bool reads_slices() const { return false; }
    // Slice `index` into out (slice_bytes() bytes), when reads_slices(); instead of read(),
    // never mixed with it. Throws InputError as read() does.
    virtual void read_slice(std::size_t index, std::byte* out) const;
};

// One volume of a source, read or failed — or a file skipped on purpose (a non-image
// DICOM object, a localizer, a duplicate instance), which is not a failure.
struct LoadedVolume {
    std::string id;
    std::string path;                     // what to name in an error
    std::unique_ptr<Volume> volume;       // null when reading failed, the file was skipped, or streamed
    std::unique_ptr<SliceStream> stream;  // with LoadOptions::streams: instead of volume
    std::string error;                    // one line, when volume is null: why it failed or was skipped
    bool skipped = false;
    bool streamable = false;  // would come as a stream with LoadOptions::streams
};

// Reads the voxels of every volume in a source; never throws InputError (failures are
// returned per volume) but does throw Interrupted. Third-party decoders run in `decoders`.
std::vector<LoadedVolume> load_source(const Source& source, const LoadOptions& options, ThreadPool& pool,
                                      DecoderPool& decoders, const CancelToken& cancel);

// Headers only: the returned volumes carry VolumeInfo but no voxels.
std::vector<LoadedVolume> inspect_source(const Source& source, const LoadOptions& options, ThreadPool& pool,
                                         DecoderPool& decoders, const CancelToken& cancel);

// The same with a decoder pool of their own (one worker per thread of `pool`).
std::vector<LoadedVolume> load_source(const Source& source, const LoadOptions& options, ThreadPool& pool,
                                      const CancelToken& cancel);
std::vector<LoadedVolume> inspect_source(const Source& source, const LoadOptions& options, ThreadPool& pool,
                                         const CancelToken& cancel);

}  // namespace lessmore
