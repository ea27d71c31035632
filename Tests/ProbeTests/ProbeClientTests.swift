import Foundation
import MockUpstream
import Probe
import Testing

/// The probes against the project's mock upstream over real loopback HTTP, one scripted fault at a time.
@Suite struct ProbeClientTests {
    /// Generous, so a stalled machine makes a test slower, never a status answer into a timeout.
    let probe = ProbeClient(timeout: .seconds(15))
    static let key = "sk-probe-SECRET-123456789"

    @Test func healthyUpstreamPassesEveryStep() async throws {
        let mock = try await RunningMockUpstream.start()
        let models = await probe.models(baseURL: mock.baseURL + "/v1/", key: Self.key)
        #expect(models.step.classification == .ok && models.models.contains("gpt-4o-mini"))
        #expect(await probe.chat(baseURL: mock.baseURL, key: Self.key, model: "gpt-4o-mini").classification == .ok)
        #expect(await probe.responses(baseURL: mock.baseURL, key: Self.key, model: "gpt-4o-mini").classification == .ok)
        #expect(await probe.stream(baseURL: mock.baseURL, key: Self.key, model: "gpt-4o-mini").classification == .ok)
    }

    @Test(arguments: [
        (Fault(status: 401, echoKey: true), ProbeClassification.authFailed),
        (Fault(status: 403), .forbidden),
        (Fault(status: 429, retryAfter: 7), .rateLimited),
        (Fault(status: 503), .warmingUp),
        (Fault(invalidJSON: true), .notOpenAICompatible),
        (Fault(delayMs: 5000), .timeout),
    ])
    func failuresAreClassified(_ fault: Fault, _ expected: ProbeClassification) async throws {
        let mock = try await RunningMockUpstream.start()
        mock.script.replace([FaultRule(fault: fault)])
        // The timeout case gets a short deadline against a 5 s delay.
        let client = expected == .timeout ? ProbeClient(timeout: .milliseconds(300)) : probe
        let step = await client.chat(baseURL: mock.baseURL, key: Self.key, model: "gpt-4o-mini")
        #expect(step.classification == expected, "\(step)")
        #expect(step.detail?.contains(Self.key) != true, "the key never appears in a result")
        if expected == .rateLimited { #expect(step.retryAfter == 7) }
        #expect(expected.isTransient == [.rateLimited, .warmingUp, .timeout].contains(expected))
    }

    @Test func missingModelAndMissingEndpoint() async throws {
        let mock = try await RunningMockUpstream.start()
        mock.script.replace([FaultRule(model: "gpt-4o", fault: Fault(missingModel: true)), FaultRule(fault: Fault(responsesUnsupported: true))])
        let models = await probe.models(baseURL: mock.baseURL, key: Self.key)
        #expect(!models.models.contains("gpt-4o") && models.models.contains("gpt-4o-mini"))
        #expect(await probe.chat(baseURL: mock.baseURL, key: Self.key, model: "gpt-4o").classification == .modelMissing)
        #expect(await probe.responses(baseURL: mock.baseURL, key: Self.key, model: "gpt-4o-mini").classification == .notOpenAICompatible)
    }

    /// A refused port. Not a mock just stopped: under load its listener can outlive a short wait and take the
    /// connection into its backlog, or another test's server can bind the freed port, and the probe then times out.
    @Test func unreachableUpstream() async throws {
        let step = await probe.models(baseURL: "http://127.0.0.1:9", key: Self.key)  // discard port: nothing listens
        #expect(step.step.classification == .unreachable && step.step.status == 0)
    }

    @Test func urlJoiningAndRedaction() {
        #expect(UpstreamText.url("https://api.example.com/v1/", "/v1/models") == "https://api.example.com/v1/models")
        #expect(UpstreamText.url("https://api.example.com", "/v1/models") == "https://api.example.com/v1/models")
        #expect(UpstreamText.redact("bad key sk-abc123456789 and sk-proj-***xyz9", key: "") == "bad key [redacted] and [redacted]")
    }
}
