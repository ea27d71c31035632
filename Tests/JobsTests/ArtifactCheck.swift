import Foundation
import Jobs
import Testing

/// Validates an artifact against its schema in `artifacts/schema/` with the in-repo `SchemaValidator` and with
/// the independent python `jsonschema` (installed into `.build/sdk-venv` by `scripts/test.sh`).
enum ArtifactCheck {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let python = ProcessInfo.processInfo.environment["SWITCHYARD_SDK_PYTHON"] ?? packageRoot + "/.build/sdk-venv/bin/python"

    static func schemaPath(_ kind: String) -> String { packageRoot + "/artifacts/schema/\(kind).schema.json" }

    /// Violations found by both validators (empty when the document is valid); records an issue if they disagree.
    static func violations(of document: Data, kind: String) throws -> (swift: [String], python: [String]) {
        let schema = try Data(contentsOf: URL(fileURLWithPath: schemaPath(kind)))
        let swift = try SchemaValidator.violations(json: document, schema: schema)
        let python = try pythonViolations(document, schemaPath: schemaPath(kind))
        #expect(swift.isEmpty == python.isEmpty, "validators disagree: swift \(swift), python \(python)")
        return (swift, python)
    }

    /// Reads `<folder>/summary.json` and expects it valid under both validators; returns it decoded.
    static func validSummary(in folder: URL, kind: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent("summary.json"))
        let found = try violations(of: data, kind: kind)
        #expect(found.swift.isEmpty, "SchemaValidator: \(found.swift)", sourceLocation: sourceLocation)
        #expect(found.python.isEmpty, "jsonschema: \(found.python)", sourceLocation: sourceLocation)
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    private static func pythonViolations(_ document: Data, schemaPath: String) throws -> [String] {
        try #require(FileManager.default.isExecutableFile(atPath: python),
                     "no python with jsonschema at \(python): run ./scripts/test.sh once")
        let docPath = NSTemporaryDirectory() + "artifact-\(UUID().uuidString).json"
        try document.write(to: URL(fileURLWithPath: docPath))
        defer { try? FileManager.default.removeItem(atPath: docPath) }
        let script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(json.load(open(sys.argv[2])))]
            print("\\n".join(errors))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, schemaPath, docPath]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "jsonschema failed: \(text)")
        return text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// The one artifact folder written for `kind`/`id`.
    static func folder(_ artifacts: ArtifactWriter, kind: String, id: Int64) throws -> URL {
        try #require(artifacts.existing(kind: kind, id: String(id)), "no \(kind) artifact for job \(id)")
    }
}
