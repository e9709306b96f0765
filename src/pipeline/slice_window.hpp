#pragma once
// The slices a unit run reads (docs/methods.md, section "3-D units", "Memory"): the whole
// volume in memory, or a window over a stream that holds only the slices still needed —
// the units being prepared and the kept units not yet written — so a unit run's memory is
// a few units, not the volume.
#include <lessmore/cancel.hpp>
#include <lessmore/load.hpp>
#include <lessmore/progress.hpp>
#include <lessmore/volume.hpp>

#include <cstddef>
#include <deque>
#include <vector>

namespace lessmore {

class SliceWindow {
public:
    // The volume in memory: every slice is held.
    SliceWindow(const Volume& volume, ProgressSink& progress);
    // A stream read `chunk` slices at a time.
    SliceWindow(SliceStream& stream, std::size_t chunk, ProgressSink& progress);

    const VolumeInfo& info() const;
    // Whether slices before the held ones are gone (a stream): a caller must then ask for
    // slices in order.
    bool streamed() const { return m_stream != nullptr; }

    // Makes slices [first, end) readable, reading on as far as `end`; slices before `first`
    // are let go and never asked for again (std::logic_error if they are). Not thread-safe:
    // call between parallel sections; slice() may then be called from any thread.
    void hold(std::size_t first, std::size_t end, const CancelToken& cancel);
    SliceView slice(std::size_t z) const;

    // Reads what the stream has left unread (a series reads whole or fails whole: a damaged
    // slice after the last unit fails the volume as it would a slice run).
    void finish(const CancelToken& cancel);

private:
    struct Chunk {
        std::size_t first = 0;
        std::size_t count = 0;
        Bytes bytes;
    };
    void read_chunk(const CancelToken& cancel);

    const Volume* m_volume = nullptr;
    SliceStream* m_stream = nullptr;
    std::size_t m_chunk = 1;
    ProgressSink& m_progress;
    std::deque<Chunk> m_chunks;  // held, in slice order
    std::vector<Bytes> m_spare;  // buffers of chunks let go, reused (fresh pages cost more than hashing)
    std::size_t m_read = 0;      // slices read (a volume in memory: reported) so far
    std::size_t m_released = 0;  // slices before this one are let go
};

}  // namespace lessmore
