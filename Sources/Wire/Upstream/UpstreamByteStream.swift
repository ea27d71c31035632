import NIOConcurrencyHelpers
import NIOCore

/// Response bytes handed from an upstream connection's event loop to the relay task, with back-pressure:
/// the connection stops reading while more than `highWater` bytes wait, and resumes when the reader drains.
final class UpstreamByteStream: @unchecked Sendable {  // all state behind `lock`
    private struct State {
        var buffers = CircularBuffer<ByteBuffer>()
        var buffered = 0
        var finished = false
        var error: (any Error)?
        var waiter: CheckedContinuation<ByteBuffer?, any Error>?
        var collector: CheckedContinuation<Void, any Error>?
        var paused = false
    }

    private let lock = NIOLockedValueBox(State())
    let highWater = 1 << 20
    /// Asks the connection to read more (after a pause); runs on the connection's event loop.
    var resume: @Sendable () -> Void = {}

    // MARK: Producer side (event loop)

    /// Adds bytes; returns false when the producer should pause reading.
    func yield(_ buffer: ByteBuffer) -> Bool {
        let (waiter, keepReading) = lock.withLockedValue { s -> (CheckedContinuation<ByteBuffer?, any Error>?, Bool) in
            if let waiter = s.waiter {
                s.waiter = nil
                return (waiter, true)
            }
            // A collector waits for the end, so it never pauses the connection.
            s.buffers.append(buffer)
            s.buffered += buffer.readableBytes
            s.paused = s.collector == nil && s.buffered > highWater
            return (nil, !s.paused)
        }
        waiter?.resume(returning: buffer)
        return keepReading
    }

    func finish(_ error: (any Error)? = nil) {
        let (waiter, collector) = lock.withLockedValue { s -> (CheckedContinuation<ByteBuffer?, any Error>?, CheckedContinuation<Void, any Error>?) in
            guard !s.finished else { return (nil, nil) }
            s.finished = true
            s.error = error
            defer { s.waiter = nil; s.collector = nil }
            return (s.waiter, s.collector)
        }
        if let error {
            waiter?.resume(throwing: error)
            collector?.resume(throwing: error)
        } else {
            waiter?.resume(returning: nil)
            collector?.resume()
        }
    }

    // MARK: Consumer side (relay task)

    func next() async throws -> ByteBuffer? {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ByteBuffer?, any Error>) in
            enum Step { case value(ByteBuffer?), error(any Error), wait }
            let (step, resume) = lock.withLockedValue { s -> (Step, Bool) in
                if let first = s.buffers.popFirst() {
                    s.buffered -= first.readableBytes
                    let resume = s.paused && s.buffered < highWater / 2
                    if resume { s.paused = false }
                    return (.value(first), resume)
                }
                if let error = s.error { return (.error(error), false) }
                if s.finished { return (.value(nil), false) }
                s.waiter = continuation
                let resume = s.paused
                s.paused = false
                return (.wait, resume)
            }
            if resume { self.resume() }
            switch step {
            case .value(let value): continuation.resume(returning: value)
            case .error(let error): continuation.resume(throwing: error)
            case .wait: break
            }
        }
    }

    /// Waits for the whole body (no per-chunk hand-off) and returns it; fails past `limit` bytes.
    func collect(upTo limit: Int) async throws -> ByteBuffer {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let (done, resume) = lock.withLockedValue { s -> (Bool, Bool) in
                if s.finished { return (true, false) }
                s.collector = continuation
                let resume = s.paused
                s.paused = false
                return (false, resume)
            }
            if resume { self.resume() }
            if done { continuation.resume() }
        }
        return try lock.withLockedValue { s in
            if let error = s.error { throw error }
            var all = ByteBuffer()
            while var buffer = s.buffers.popFirst() {
                guard all.readableBytes + buffer.readableBytes <= limit else { throw UpstreamFailure.tooLarge }
                all.writeBuffer(&buffer)
            }
            s.buffered = 0
            return all
        }
    }
}
