import Foundation
import Scheduler

/// Appends lines with one `write(2)` on an `O_APPEND` descriptor, so lines from many processes never interleave.
enum RunLog {
    static func append(_ line: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw JobError.discard("cannot open run log \(path)") }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
    }
}
