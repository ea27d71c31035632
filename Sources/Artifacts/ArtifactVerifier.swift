import Foundation

/// What `switchyard artifacts verify` and `GET /api/artifacts/{kind}/{name}/verify` check: a summary against the JSON
/// Schema of its kind, then any check its kind adds (an import's counts against its items).
public struct ArtifactVerifier: Sendable {
    /// Where schemas are looked for, in order.
    public var schemaDirs: [String]
    /// Checks beyond the schema, by kind: nil when the summary passes, else what is wrong.
    public var checks: [String: @Sendable (Data) throws -> String?]

    public init(schemaDirs: [String], checks: [String: @Sendable (Data) throws -> String?] = [:]) {
        self.schemaDirs = schemaDirs
        self.checks = checks
    }

    /// The schemas ship in the repository's `artifacts/schema`; a custom artifacts dir may not hold a copy.
    public static func defaultSchemaDirs(artifactsDir: String) -> [String] {
        [artifactsDir + "/schema", "./artifacts/schema"]
    }

    /// Every problem of `summary` (a summary.json's bytes) of `kind`; empty when it is valid. Throws when the kind has
    /// no schema.
    public func problems(kind: String, summary: Data) throws -> [String] {
        var problems = try ArtifactReader.violations(of: summary, kind: kind, schemaDirs: schemaDirs)
        if problems.isEmpty, let check = checks[kind], let problem = try check(summary) {
            problems.append("$.counts: \(problem)")
        }
        return problems
    }
}
