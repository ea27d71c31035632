/// Polls `condition` until it holds or `timeout` passes; an error inside `condition` counts as "not yet".
public func eventually(timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(10),
                       _ condition: () async throws -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: interval)
    }
    return (try? await condition()) == true
}
