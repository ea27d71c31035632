import Foundation

/// Writes acceptance artifacts: `<root>/<kind>/<UTC stamp>_<id>/summary.json` (+ extra files). The folder is
/// built under a hidden temp name and renamed into place, so a reader sees all of it or none of it, and an
/// artifact already written for `id` is never written twice (a job that re-runs after a crash finds it).
public struct ArtifactWriter: Sendable {
    public let root: URL
    /// Milliseconds since the Unix epoch: the folder's stamp (the program's clock, so tests can set it).
    let now: @Sendable () -> Int64

    public init(root: URL, now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.root = root
        self.now = now
    }

    /// The folder already written for `kind`/`id`, if any.
    public func existing(kind: String, id: String) -> URL? {
        let folder = root.appendingPathComponent(kind)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.first { !$0.hasPrefix(".") && $0.hasSuffix("_" + id) }.map { folder.appendingPathComponent($0) }
    }

    /// Writes `summary` (and `files`, name → bytes) once; returns the folder (the existing one if already written).
    @discardableResult
    public func write<Summary: Encodable>(kind: String, id: String, summary: Summary, files: [String: Data] = [:]) throws -> URL {
        if let done = existing(kind: kind, id: id) { return done }
        let manager = FileManager.default
        let folder = root.appendingPathComponent(kind)
        try manager.createDirectory(at: folder, withIntermediateDirectories: true)
        let final = folder.appendingPathComponent("\(Self.stamp(now()))_\(id)")
        let temp = folder.appendingPathComponent(".tmp-\(id)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try manager.createDirectory(at: temp, withIntermediateDirectories: true)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try Self.durableWrite(try encoder.encode(summary), to: temp.appendingPathComponent("summary.json"))
            for (name, data) in files { try Self.durableWrite(data, to: temp.appendingPathComponent(name)) }
            guard rename(temp.path, final.path) == 0 else {
                throw ArtifactError("cannot move artifact into \(final.path): \(String(cString: strerror(errno)))")
            }
            Self.syncDirectory(folder)
        } catch {
            try? manager.removeItem(at: temp)
            throw error
        }
        return final
    }

    /// `20261123T181502Z`: sorts by time, safe in file names.
    public static func stamp(_ millis: Int64) -> String {
        let t = utc(millis)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
    }

    /// `2026-11-23T18:15:02.123Z`: the times inside summaries.
    public static func iso(_ millis: Int64) -> String {
        let t = utc(millis)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                      t.tm_hour, t.tm_min, t.tm_sec, Int(millis % 1000))
    }

    /// The calendar fields of a UTC instant.
    static func utc(_ millis: Int64) -> tm {
        var seconds = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return parts
    }

    static func durableWrite(_ data: Data, to url: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ArtifactError("cannot create \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var offset = 0
        try data.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                guard n > 0 else { throw ArtifactError("cannot write \(url.path): \(String(cString: strerror(errno)))") }
                offset += n
            }
        }
        guard fsync(fd) == 0 else { throw ArtifactError("cannot sync \(url.path)") }
    }

    static func syncDirectory(_ url: URL) {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

/// An artifact that cannot be written or read.
public struct ArtifactError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
