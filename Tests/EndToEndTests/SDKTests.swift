import Foundation
import Testing
import TestSupport

/// The official `openai` and `anthropic` Python SDKs against the running daemon (`Tests/sdk/sdk_check.py`).
/// `scripts/test.sh` installs them into `.build/sdk-venv`; `SWITCHYARD_SDK_PYTHON` names another interpreter.
@Suite(.serialized, .processDiagnostics) struct SDKTests {
    @Test func officialSDKsWork() async throws {
        let python = PythonSchemaCheck.python
        try #require(FileManager.default.isExecutableFile(atPath: python),
                     "no SDK interpreter at \(python): run ./scripts/test.sh, which installs openai and anthropic")
        let g = try await GatewayProcess()
        try await g.provision()
        let (status, text) = try await offCooperativePool {
            try Spawn.run(python, [PythonSchemaCheck.packageRoot + "/Tests/sdk/sdk_check.py"],
                          environment: ["SWITCHYARD_BASE": g.base, "SWITCHYARD_KEY": g.clientKey])
        }
        #expect(status == 0, "\(text)")
        #expect(text.contains("12 passed, 0 failed"), "\(text)")
        g.daemon.signal(SIGTERM)
        _ = await g.daemon.waitForExit(timeout: .seconds(20))
    }
}
