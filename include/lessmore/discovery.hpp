#pragma once
// Finding volumes in the user's inputs (files or folders, scanned recursively).
#include <string>
#include <vector>

namespace lessmore {

class ThreadPool;

// A place volumes come from, found by scanning the inputs. Reading it gives one
// volume, or several for a DICOM folder holding several series.
struct Source {
    enum class Kind { DicomFolder, VolumeFile, ImageFolder };
    Kind kind = Kind::VolumeFile;
    std::string path;                // the folder or file
    std::string root;                // the input folder it was found in (a file input: its folder);
                                     // detached data files (NRRD, MetaImage) must lie inside it
    std::string id;                  // volume id: the path relative to the INPUT, each name
                                     // escaped (%XX) so ids are UTF-8 and '#' only marks a series
    std::vector<std::string> files;  // DicomFolder / ImageFolder: file names, byte-wise order
    // DicomFolder made of sibling folders that hold parts of one series (their names; the
    // files are then "<part>/<name>"). The reader decides from the SOPInstanceUIDs whether
    // the parts make one series or are copies that stay separate volumes.
    std::vector<std::string> parts;
};

// Something that could not be read, named by its path, with a one-line reason.
struct InputFailure {
    std::string path;
    std::string message;
};

struct Discovery {
    std::vector<Source> sources;         // sorted by id
    std::vector<InputFailure> errors;    // unreadable folders, symlink loops, broken links
    std::vector<InputFailure> warnings;  // things skipped on purpose (e.g. a folder reached twice)
    // Files passed over on purpose, with the reason, for the manifest's "skipped" list:
    // FIFOs, sockets and devices (never opened), an .img without its .hdr.
    std::vector<InputFailure> skipped;
};

// What a source's files are now: size, modification time and first 4 KB of each, as a
// SHA-256 in hex (--resume redoes a source whose fingerprint changed); a volume file's
// files include the .img of a NIfTI pair and a detached NRRD/MetaImage data file.
// Unreadable files count with what could be read. With a pool, a folder's files are read
// in parallel (the same fingerprint).
std::string source_fingerprint(const Source& source, ThreadPool* pool = nullptr);

// Scans the inputs. Throws UsageError when an input does not exist, is neither a regular
// file nor a folder (a FIFO, socket or device given as INPUT), or two inputs give the
// same volume id.
Discovery discover(const std::vector<std::string>& inputs);

}  // namespace lessmore
