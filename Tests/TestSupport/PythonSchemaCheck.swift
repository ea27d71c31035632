import Foundation

/// Validates a JSON document against a schema file with the independent python `jsonschema` (draft 2020-12),
/// installed into `.build/sdk-venv` by `scripts/test.sh`; the second opinion beside the in-repo `SchemaValidator`.
public enum PythonSchemaCheck {
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    public static let python = ProcessInfo.processInfo.environment["SWITCHYARD_SDK_PYTHON"] ?? packageRoot + "/.build/sdk-venv/bin/python"

    /// `artifacts/schema/<kind>.schema.json` of this checkout.
    public static func schemaPath(_ kind: String) -> String { packageRoot + "/artifacts/schema/\(kind).schema.json" }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The violations python finds (empty when valid); throws when python or jsonschema is missing or the schema is
    /// invalid. Waits for python (and for the launch lock) off Swift's cooperative threads.
    public static func violations(_ document: Data, schemaPath: String) async throws -> [String] {
        try await offCooperativePool { try blockingViolations(document, schemaPath: schemaPath) }
    }

    static func blockingViolations(_ document: Data, schemaPath: String) throws -> [String] {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw Failure(description: "no python with jsonschema at \(python): run ./scripts/test.sh once")
        }
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
        let (status, text) = try Spawn.run(python, ["-c", script, schemaPath, docPath])
        guard status == 0 else { throw Failure(description: "jsonschema failed: \(text)") }
        return text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }
}
