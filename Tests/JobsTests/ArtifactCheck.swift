import GatewayFixtures
import Artifacts
import Foundation
import Jobs
import Testing
import TestSupport

/// Validates an artifact against its schema in `artifacts/schema/` with the in-repo `SchemaValidator` and with
/// the independent python `jsonschema` (`PythonSchemaCheck`).
enum ArtifactCheck {
    static func schemaPath(_ kind: String) -> String { PythonSchemaCheck.schemaPath(kind) }

    /// Violations found by both validators (empty when the document is valid); records an issue if they disagree.
    static func violations(of document: Data, kind: String) async throws -> (swift: [String], python: [String]) {
        let schema = try Data(contentsOf: URL(fileURLWithPath: schemaPath(kind)))
        let swift = try SchemaValidator.violations(json: document, schema: schema)
        let python = try await PythonSchemaCheck.violations(document, schemaPath: schemaPath(kind))
        #expect(swift.isEmpty == python.isEmpty, "validators disagree: swift \(swift), python \(python)")
        return (swift, python)
    }

    /// Reads `<folder>/summary.json` and expects it valid under both validators; returns it decoded.
    static func validSummary(in folder: URL, kind: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent("summary.json"))
        let found = try await violations(of: data, kind: kind)
        #expect(found.swift.isEmpty, "SchemaValidator: \(found.swift)", sourceLocation: sourceLocation)
        #expect(found.python.isEmpty, "jsonschema: \(found.python)", sourceLocation: sourceLocation)
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// The one artifact folder written for `kind`/`id`.
    static func folder(_ artifacts: ArtifactWriter, kind: String, id: Int64) throws -> URL {
        try #require(artifacts.existing(kind: kind, id: String(id)), "no \(kind) artifact for job \(id)")
    }
}
