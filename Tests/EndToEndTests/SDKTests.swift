import Foundation
import Testing

/// The official `openai` and `anthropic` Python SDKs against the running daemon (`Tests/sdk/sdk_check.py`).
/// `scripts/test.sh` installs them into `.build/sdk-venv`; `SWITCHYARD_SDK_PYTHON` names another interpreter.
@Suite(.serialized, .processDiagnostics) struct SDKTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func officialSDKsWork() async throws {
        let python = ProcessInfo.processInfo.environment["SWITCHYARD_SDK_PYTHON"] ?? Self.packageRoot + "/.build/sdk-venv/bin/python"
        try #require(FileManager.default.isExecutableFile(atPath: python),
                     "no SDK interpreter at \(python): run ./scripts/test.sh, which installs openai and anthropic")
        let g = try await GatewayProcess()
        try await g.provision()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Self.packageRoot + "/Tests/sdk/sdk_check.py"]
        var env = ProcessInfo.processInfo.environment
        env["SWITCHYARD_BASE"] = g.base
        env["SWITCHYARD_KEY"] = g.clientKey
        process.environment = env
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try ProcessLaunch.run(process)
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("12 passed, 0 failed"), "\(text)")
        g.daemon.signal(SIGTERM)
        _ = await g.daemon.waitForExit(timeout: .seconds(20))
    }
}
