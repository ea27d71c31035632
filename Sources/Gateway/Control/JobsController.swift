import Foundation
import Hummingbird
import Scheduler

/// `/api/jobs` and `/api/schedules`: list, show, enqueue, retry and cancel jobs; list, change and run schedules.
struct JobsController<Context: RequestContext> {
    let driver: any QueueDriver

    func register(on group: RouterGroup<Context>) {
        group.get("jobs", use: list)
        group.post("jobs", use: enqueue)
        group.get("jobs/counts", use: counts)
        group.get("jobs/:id", use: show)
        group.post("jobs/:id/retry", use: retry)
        group.post("jobs/:id/cancel", use: cancel)
        group.get("schedules", use: schedules)
        group.patch("schedules/:name", use: updateSchedule)
        group.post("schedules/:name/run", use: runSchedule)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let query = request.uri.queryParameters
        let page = try PageRequest(request)
        var filter = JobQuery(before: page.before, limit: page.limit)
        if let state = query["state"] {
            guard let value = JobState(rawValue: String(state)) else {
                throw Problem(.badRequest, "unknown state \(state); one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.state = value
        }
        filter.kind = query["kind"].map(String.init)
        filter.queue = query["queue"].map(String.init)
        return try json(try await driver.jobs(filter))
    }

    /// `GET /api/jobs/counts`: jobs per state, kind and queue (`{"data": [{"state", "kind", "queue", "count"}]}`).
    @Sendable func counts(_ request: Request, context: Context) async throws -> Response {
        try json(JobCountsView(data: try await driver.counts()))
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let id = try idParameter(context)
        guard let job = try await driver.job(id: id) else { throw SchedulerError.notFound(id) }
        return try json(job)
    }

    @Sendable func enqueue(_ request: Request, context: Context) async throws -> Response {
        let body = try await request.decode(as: EnqueueRequest.self, context: context)
        let result = try await driver.enqueue([body.newJob(now: driver.clock.nowMillis())])[0]
        return try json(EnqueueResultView(result), status: result.duplicate ? .ok : .created)
    }

    @Sendable func retry(_ request: Request, context: Context) async throws -> Response {
        try json(try await driver.retry(id: try idParameter(context)))
    }

    @Sendable func cancel(_ request: Request, context: Context) async throws -> Response {
        try json(try await driver.cancel(id: try idParameter(context)))
    }

    @Sendable func schedules(_ request: Request, context: Context) async throws -> Response {
        try json(ScheduleListView(schedules: try await driver.schedules().map(ScheduleView.init)))
    }

    @Sendable func updateSchedule(_ request: Request, context: Context) async throws -> Response {
        let name = try context.parameters.require("name")
        let patch = try await request.decode(as: SchedulePatch.self, context: context)
        let interval = patch.intervalS.map { Duration.milliseconds(Int64($0 * 1000)) }
        do {
            return try json(ScheduleView(try await driver.updateSchedule(name: name, interval: interval, enabled: patch.enabled)))
        } catch let error as SchedulerError where error.code == .invalidJob {
            throw Problem(.unprocessableContent, error.message)
        }
    }

    /// Enqueues the schedule's kind now: 201 with the job id, 200 when its run-now job is still live, 404 unknown.
    @Sendable func runSchedule(_ request: Request, context: Context) async throws -> Response {
        let result = try await driver.runSchedule(name: try context.parameters.require("name"))
        return try json(EnqueueResultView(result), status: result.duplicate ? .ok : .created)
    }
}

/// A JSON response with the project's stable encoder.
func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let data = try JSONEncoder.sortedKeys.encode(value)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// `GET /api/jobs/counts`.
struct JobCountsView: Encodable {
    let data: [JobCount]
}
