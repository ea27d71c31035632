import Foundation

/// Finds and checks the artifacts under one root: `<root>/<kind>/<stamp>_<id>/summary.json`, with their schemas in
/// `<schema dir>/<kind>.schema.json`. What `switchyard artifacts list|show|verify` reads.
public struct ArtifactReader: Sendable {
    /// One artifact folder.
    public struct Entry: Sendable, Equatable {
        public var kind: String
        public var folder: URL
        public var summary: URL { folder.appendingPathComponent("summary.json") }
    }

    public let root: URL

    public init(root: URL) { self.root = root }

    /// Every artifact folder, kinds by name and each kind's folders oldest first (their names start with the stamp).
    public func all(kind: String? = nil) -> [Entry] {
        let manager = FileManager.default
        let kinds = ((try? manager.contentsOfDirectory(atPath: root.path)) ?? []).filter { $0 != "schema" && !$0.hasPrefix(".") }.sorted()
        return kinds.filter { kind == nil || $0 == kind }.flatMap { kind in
            ((try? manager.contentsOfDirectory(atPath: root.appendingPathComponent(kind).path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
                .map { Entry(kind: kind, folder: root.appendingPathComponent(kind).appendingPathComponent($0)) }
        }
    }

    /// A summary.json named by path (file or folder) or by the id at the end of its folder's name (the newest
    /// such folder); its kind is the name of the folder above the artifact's.
    public func summary(_ reference: String) throws -> (kind: String, file: URL) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: reference, isDirectory: &isDirectory) {
            let url = URL(fileURLWithPath: reference)
            let file = isDirectory.boolValue ? url.appendingPathComponent("summary.json") : url
            return (file.deletingLastPathComponent().deletingLastPathComponent().lastPathComponent, file)
        }
        guard let match = all().last(where: { $0.folder.lastPathComponent.hasSuffix("_" + reference) }) else {
            throw ArtifactError("no artifact for \(reference) under \(root.path)")
        }
        return (match.kind, match.summary)
    }

    /// The bytes of a summary at the path its writer returned (as a run records it); nil once the file is gone.
    public static func summaryData(at path: String) -> Data? {
        FileManager.default.contents(atPath: path)
    }

    /// The schema of `kind`: the first of `schemaDirs` that holds `<kind>.schema.json`.
    public static func schema(kind: String, in schemaDirs: [String]) throws -> URL {
        let candidates = schemaDirs.map { URL(fileURLWithPath: $0).appendingPathComponent("\(kind).schema.json") }
        guard let schema = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw ArtifactError("no schema for \(kind): looked for \(candidates.map(\.path).joined(separator: ", "))")
        }
        return schema
    }

    /// Every way `summary` (a summary.json's bytes) breaks the schema of `kind` found in `schemaDirs`.
    public static func violations(of summary: Data, kind: String, schemaDirs: [String]) throws -> [String] {
        try SchemaValidator.violations(json: summary, schema: try Data(contentsOf: try schema(kind: kind, in: schemaDirs)))
    }
}
