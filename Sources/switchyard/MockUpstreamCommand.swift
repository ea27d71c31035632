import ArgumentParser
import Foundation
import MockUpstream
import ServiceLifecycle

/// `switchyard mock-upstream`: the scripted OpenAI/Anthropic upstream that tests and benchmarks use.
struct MockUpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-upstream", abstract: "Run a mock OpenAI/Anthropic upstream with scripted faults.")

    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port; the line printed at start names it).") var port: Int = 9090
    @Option(help: "A JSON file with fault rules: [{\"key\"?, \"model\"?, \"fault\": {…}}].") var script: String?
    @Option(help: "How answers are written: compact, spaced (Python's json.dumps), pretty (multi-line data), crlf, usage_first.")
    var style: MockStyle = .compact

    func run() async throws {
        var rules: [FaultRule] = []
        if let script {
            rules = try JSONDecoder().decode([FaultRule].self, from: Data(contentsOf: URL(fileURLWithPath: script)))
        }
        try await ListenCheck.ensureAvailable(host: host, port: port)
        let logger = makeLogger("mock-upstream", level: .warning)
        let host = self.host
        let app = MockUpstreamServer(script: MockScript(rules: rules, style: style)).application(host: host, port: port, logger: logger) { bound in
            printNow("mock upstream listening on http://\(host):\(bound)")
        }
        let services: [any Service] = ParentWatch.enabled ? [app, ParentWatch()] : [app]
        let group = ServiceGroup(configuration: .init(
            services: ParentWatch.configurations(services), gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

extension MockStyle: ExpressibleByArgument {}
