import AsyncHTTPClient
import Foundation
import Jobs
import Testing
import TestSupport

@Suite struct BackgroundHTTPClientTests {
    /// Probes run on this client: a refused connection fails the request at once instead of being retried until the
    /// request's deadline.
    @Test func aRefusedConnectionFailsAtOnce() async throws {
        let background = BackgroundHTTPClient(nice: 0)
        let started = ContinuousClock.now
        // Nothing listens on port 1 of loopback.
        let result = await Result(catching: { try await background.client.execute(HTTPClientRequest(url: "http://127.0.0.1:1/health"), timeout: .seconds(20)) })
        let elapsed = ContinuousClock.now - started
        await background.shutdown()
        #expect(throws: (any Error).self) { try result.get() }
        // A bound with room for a loaded machine; the retrying client took the whole 20 s.
        #expect(elapsed < .seconds(5), "\(elapsed)")
    }
}
