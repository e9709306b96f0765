#include "pipeline/slice_window.hpp"

#include <algorithm>
#include <stdexcept>

namespace lessmore {

SliceWindow::SliceWindow(const Volume& volume, ProgressSink& progress) : m_volume(&volume), m_progress(progress) {}

SliceWindow::SliceWindow(SliceStream& stream, std::size_t chunk, ProgressSink& progress)
    : m_stream(&stream), m_chunk(std::max<std::size_t>(1, chunk)), m_progress(progress) {}

const VolumeInfo& SliceWindow::info() const { return m_volume ? m_volume->info() : m_stream->info(); }

void SliceWindow::read_chunk(const CancelToken& cancel) {
    cancel.check();
    const VolumeInfo& v = info();
    Chunk c;
    c.first = m_read;
    c.count = std::min(m_chunk, v.slice_count() - m_read);
    if (!m_spare.empty()) {
        c.bytes = std::move(m_spare.back());
        m_spare.pop_back();
    }
    c.bytes.resize(c.count * v.slice_bytes());
    m_stream->read(c.count, c.bytes.data());
    m_read += c.count;
    m_progress.slices_done(c.count);
    m_chunks.push_back(std::move(c));
}

void SliceWindow::hold(std::size_t first, std::size_t end, const CancelToken& cancel) {
    const std::size_t n = info().slice_count();
    end = std::min(end, n);
    if (m_volume) {  // every slice stays; progress counts the slices reached
        if (end > m_read) {
            m_progress.slices_done(end - m_read);
            m_read = end;
        }
        return;
    }
    if (first < m_released) throw std::logic_error("SliceWindow: a slice let go was asked for again");
    m_released = std::max(m_released, first);
    while (!m_chunks.empty() && m_chunks.front().first + m_chunks.front().count <= first) {
        m_spare.push_back(std::move(m_chunks.front().bytes));
        m_chunks.pop_front();
    }
    while (m_read < end) read_chunk(cancel);
    // Chunks read past `first` before it was known are let go as well.
    while (!m_chunks.empty() && m_chunks.front().first + m_chunks.front().count <= first) {
        m_spare.push_back(std::move(m_chunks.front().bytes));
        m_chunks.pop_front();
    }
    if (m_spare.size() > 2) m_spare.resize(2);
}

SliceView SliceWindow::slice(std::size_t z) const {
    if (m_volume) return m_volume->slice(z);
    const VolumeInfo& v = info();
    if (z < m_released || z >= m_read || m_chunks.empty() || z < m_chunks.front().first)
        throw std::logic_error("SliceWindow: a slice outside the window was read");
    // Chunks are m_chunk slices each from slice 0 on (the last may be shorter).
    const Chunk& c = m_chunks[(z - m_chunks.front().first) / m_chunk];
    return SliceView{c.bytes.data() + (z - c.first) * v.slice_bytes(), v.type, v.width, v.height};
}

void SliceWindow::finish(const CancelToken& cancel) {
    const std::size_t n = info().slice_count();
    if (m_volume) {
        hold(0, n, cancel);
        return;
    }
    // The rest is read and let go a chunk at a time.
    m_released = n;
    while (m_read < n) {
        while (!m_chunks.empty()) {
            m_spare.push_back(std::move(m_chunks.front().bytes));
            m_chunks.pop_front();
        }
        read_chunk(cancel);
    }
    m_chunks.clear();
    m_spare.clear();
}

}  // namespace lessmore
