import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import Jobs
import NIOCore
import Scheduler
import Testing
import TestSupport

@Suite struct ScheduleRunTests {
    /// `POST /api/schedules/{name}/run` enqueues the schedule's kind on its queue now (disabled or not), reports a
    /// second call while that job is live as already enqueued, and answers problem JSON 404 for an unknown name.
    @Test(arguments: Engine.allCases) func runEnqueuesTheSchedulesKindNow(_ engine: Engine) async throws {
        let f = try await ControlFixture(engine)
        try await f.queue.register(BuiltinJobs.schedules)
        _ = try await f.queue.updateSchedule(name: "payloads.purge", interval: nil, enabled: false)
        try await f.test { client in
            let first = try await client.execute(uri: "/api/schedules/usage.settle/run", method: .post, headers: auth)
            #expect(first.status == .created, "\(String(buffer: first.body))")
            let created = try decode(EnqueueResultView.self, first)
            #expect(!created.duplicate)
            let again = try await client.execute(uri: "/api/schedules/usage.settle/run", method: .post, headers: auth)
            #expect(again.status == .ok)
            #expect(try decode(EnqueueResultView.self, again).id == created.id)
            let disabled = try await client.execute(uri: "/api/schedules/payloads.purge/run", method: .post, headers: auth)
            #expect(disabled.status == .created)
            try expectProblem(try await client.execute(uri: "/api/schedules/nope/run", method: .post, headers: auth), .notFound)
            try expectProblem(try await client.execute(uri: "/api/schedules/usage.settle/run", method: .post), .unauthorized)

            let job = try #require(try await f.queue.job(id: created.id))
            #expect(job.kind == "usage.settle" && job.queue == "maintenance" && job.state == .available)
        }
        let kinds = try await f.queue.jobs(JobQuery()).jobs.map(\.kind).sorted()
        #expect(kinds == ["payloads.purge", "usage.settle"])
    }
}
