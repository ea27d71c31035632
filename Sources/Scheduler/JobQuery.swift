/// A page of jobs with the cursor of the next page.
public struct JobPage: Sendable, Codable {
    public var jobs: [JobRecord]
    /// The cursor for the next page (the last id shown), nil on the last page.
    public var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case jobs
        case nextCursor = "next_cursor"
    }

    public init(jobs: [JobRecord], nextCursor: String?) {
        self.jobs = jobs
        self.nextCursor = nextCursor
    }
}

/// A filter and page position for listing jobs, newest first.
public struct JobQuery: Sendable {
    public var state: JobState?
    public var kind: String?
    public var queue: String?
    /// Only jobs with an id below this (the previous page's `nextCursor`).
    public var before: Int64?
    public var limit: Int

    public init(state: JobState? = nil, kind: String? = nil, queue: String? = nil, before: Int64? = nil, limit: Int = 50) {
        self.state = state
        self.kind = kind
        self.queue = queue
        self.before = before
        self.limit = limit
    }
}

/// The number of jobs in one state of one kind and queue.
public struct JobCount: Sendable, Equatable, Codable {
    public var state: JobState
    public var kind: String
    public var queue: String
    public var count: Int

    public init(state: JobState, kind: String, queue: String, count: Int) {
        self.state = state
        self.kind = kind
        self.queue = queue
        self.count = count
    }
}
