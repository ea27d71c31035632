import Foundation

/// Files only their owner can read (0600), created whole and once.
enum PrivateFile {
    /// The file's text, and whether this call created it. When it does not exist, `make()`'s text is written to a
    /// temporary file beside it, synced, and linked into place. `link` fails when the name already exists, so of two
    /// processes creating it at once exactly one wins and both return the winner's text, and no reader ever sees a
    /// half-written file.
    static func readOrCreate(_ path: String, _ make: () -> String) throws -> (text: String, created: Bool) {
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) { return (existing, false) }
        let text = make()
        let temporary = path + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        try write(text, to: temporary)
        defer { unlink(temporary) }
        if link(temporary, path) == 0 { return (text, true) }
        let failure = errno
        guard failure == EEXIST, let winner = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw StoreError.dataDir("cannot create \(path): \(String(cString: strerror(failure)))")
        }
        return (winner, false)
    }

    private static func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw StoreError.dataDir("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard Foundation.write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            throw StoreError.dataDir("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
