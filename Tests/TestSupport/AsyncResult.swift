extension Result where Failure == any Error {
    /// The outcome of an async throwing `body`, kept so that cleanup can run before it is checked.
    public init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
