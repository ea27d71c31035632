import Foundation
import Testing
import TestSupport

/// The operator console in a real headless Chromium (`Tests/browser/console_check.py`, Selenium with Debian's
/// `chromium` and `chromium-driver`; `scripts/test.sh` installs them): sign in, users and a key read once, a channel
/// to the mock tested for real, a request relayed with that key, a batch import against the mock's faults watched live and
/// rolled back after its dry run, a discarded job retried, a schedule paused, resumed
/// and run, the overview's figures and charts, a trace found and its payload revealed with a reason (audited), the
/// CSRF and sign-out guarantees, markup in names shown as text, a phone-width screen, and no JavaScript
/// console error anywhere. Screenshots of each page go to `.build-tests/test-output/console/<engine>/`.
@Suite(.serialized, .processDiagnostics) struct ConsoleBrowserTests {
    @Test(arguments: Engine.allCases) func theConsoleWorksInABrowser(_ engine: Engine) async throws {
        let python = PythonSchemaCheck.python
        try #require(FileManager.default.isExecutableFile(atPath: python),
                     "no interpreter at \(python): run ./scripts/test.sh, which installs selenium")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
                     && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"),
                     "chromium and chromium-driver are needed: ./scripts/test.sh installs them")
        // Payload capture on, so the walk can reveal a request's bodies (with a reason, audited). Imports reach the
        // mock on loopback.
        let g = try await GatewayProcess(engine, extraArgs: ["--capture-payloads", "--allow-private-upstreams"],
                                         env: ["SWITCHYARD_PAYLOAD_KEY": Data((0..<32).map { UInt8($0) }).base64EncodedString()])
        let shots = PythonSchemaCheck.packageRoot + "/.build-tests/test-output/console/\(engine.rawValue)"
        try? FileManager.default.removeItem(atPath: shots)
        let environment = ["SWITCHYARD_BASE": g.base, "SWITCHYARD_ADMIN_TOKEN": g.adminToken, "SWITCHYARD_MOCK_BASE": g.mockBase,
                           "SWITCHYARD_SHOTS": shots]
        let (status, text) = try await offCooperativePool {
            try Spawn.run(python, [PythonSchemaCheck.packageRoot + "/Tests/browser/console_check.py"], environment: environment)
        }
        #expect(status == 0, "\(text)")
        #expect(text.contains(" 0 failed"), "\(text)")
        #expect(!g.daemon.stderr.contains(g.adminToken), "the admin token never reaches the log")
        g.daemon.signal(SIGTERM)
        _ = await g.daemon.waitForExit(timeout: .seconds(20))
    }
}
