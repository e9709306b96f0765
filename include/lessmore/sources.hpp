#pragma once
// Finding volumes in the user's inputs and reading them.
#include <lessmore/volume.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace lessmore {

class ThreadPool;

// Cooperative cancellation (Ctrl-C): the core checks it between units of work.
class CancelToken {
public:
    void cancel() { m_flag.store(true); }
    bool cancelled() const { return m_flag.load(); }
    void check() const;  // throws Interrupted once cancelled

private:
    std::atomic<bool> m_flag{false};
};

// A place volumes come from, found by scanning the inputs. Reading it gives one
// volume, or several for a DICOM folder holding several series.
struct Source {
    enum class Kind { DicomFolder, VolumeFile, ImageFolder };
    Kind kind = Kind::VolumeFile;
    std::string path;                // the folder or file
    std::string id;                  // volume id (path relative to the INPUT)
    std::vector<std::string> files;  // DicomFolder / ImageFolder: file names, byte-wise order
};

struct InputFailure {
    std::string path;
    std::string message;
};

struct Discovery {
    std::vector<Source> sources;         // sorted by id
    std::vector<InputFailure> errors;    // unreadable folders, symlink loops, broken links
    std::vector<InputFailure> warnings;  // things skipped on purpose (e.g. a folder reached twice)
};

// Scans the inputs (files or folders, recursively). Throws UsageError when an input does
// not exist or two inputs give the same volume id.
Discovery discover(const std::vector<std::string>& inputs);

enum class SliceOrder {
    Position,  // DICOM: ImagePositionPatient along the slice normal; images: natural name order
    Name       // byte-wise order of the source file names (what the authors' scripts did)
};

struct LoadOptions {
    SliceOrder order = SliceOrder::Position;
};

// One volume of a source, read or failed.
struct LoadedVolume {
    std::string id;
    std::string path;                 // what to name in an error
    std::unique_ptr<Volume> volume;   // null when reading failed
    std::string error;                // one line, when volume is null
};

// Reads the voxels of every volume in a source; never throws InputError (failures are
// returned per volume) but does throw Interrupted.
std::vector<LoadedVolume> load_source(const Source& source, const LoadOptions& options, ThreadPool& pool,
                                      const CancelToken& cancel);

// Headers only (for `lessmore info`): the returned volumes carry VolumeInfo but no voxels.
std::vector<LoadedVolume> inspect_source(const Source& source, const LoadOptions& options, ThreadPool& pool,
                                         const CancelToken& cancel);

// "a2" < "a10": digit runs compare by value, the rest byte-wise; ties by byte order.
bool natural_less(const std::string& a, const std::string& b);

}  // namespace lessmore
