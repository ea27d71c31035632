import Foundation
import GRDB
import Scheduler
@_spi(Engine) import Store
import Testing
import TestSupport

@Suite(.serialized, .processDiagnostics) struct CrashRecoveryTests {
    /// kill -9 a worker mid-run, start it again: every job completes, none is lost, only jobs in flight at the
    /// kill run again, and they are rescued within lease TTL + one tick.
    @Test(arguments: Engine.allCases) func killNineMidRunLosesNothing(_ engine: Engine) async throws {
        let tmp = try TempDir()
        let database = try await DaemonDatabase(engine, tmp: tmp)
        let runLog = tmp.path + "/runs.log"
        let queue = database.queue
        let total = 20_000
        let args = #"{"log":"\#(runLog)"}"#
        _ = try await queue.enqueue((0..<total).map { _ in NewJob(kind: "noop", args: args) })
        let leaseTTL = 3.0
        let tickMs = 500
        let workerArgs = ["serve", "--role", "worker"] + database.args + ["--queue", "default=50",
                          "--lease-ttl", "\(leaseTTL)", "--tick-ms", "\(tickMs)", "--log-level", "warning"]

        let first = try DaemonProcess(workerArgs, logDir: tmp.path, name: "first")
        #expect(await eventually(timeout: .seconds(60)) { try await queue.count(.completed) >= 2000 })
        first.signal(SIGKILL)
        _ = await first.waitForExit(timeout: .seconds(10))
        let killedAt = SystemWallClock().nowMillis()

        let inFlight = Set(try await queue.jobs(JobQuery(state: .running, limit: 500)).jobs.map(\.id))
        let completedBefore = try await queue.count(.completed)
        #expect(!inFlight.isEmpty, "the kill should land while jobs are held")
        #expect(completedBefore < total, "the kill should land mid-run")

        let second = try DaemonProcess(workerArgs, logDir: tmp.path, name: "second")
        #expect(await eventually(timeout: .seconds(120)) { try await queue.count(.completed) == total })
        second.signal(SIGTERM)
        #expect(await second.waitForExit(timeout: .seconds(20)) == 0)

        // Every job completed exactly once in the database; nothing is left in any other state.
        #expect(try await queue.count(.completed) == total)
        let runs = try readRunLog(runLog)
        #expect(runs.count == total, "every job ran")
        let rerun = Set(runs.filter { $0.value.count > 1 }.keys)
        #expect(rerun.isSubset(of: inFlight), "only jobs in flight at the kill ran twice")
        // Jobs held at the kill were rescued (attempt 2) within lease TTL + one tick (+ start-up of the new process).
        var rescued: [JobRecord] = []
        for id in inFlight { if let job = try await queue.job(id: id) { rescued.append(job) } }
        #expect(rescued.count == inFlight.count && rescued.allSatisfy { $0.attempt == 2 }, "every job in flight was rescued once")
        for job in rescued {
            guard case .object(let first)? = job.errors.first, case .number(let seen)? = first["at"] else {
                Issue.record("job \(job.id) was rescued without an error entry: \(job.errors)")
                continue
            }
            let at = Int64(seen)
            let bound = Int64(leaseTTL * 1000) + Int64(tickMs) + 8000   // + start-up of the new process on a loaded machine
            #expect(at - killedAt <= bound, "rescued \(at - killedAt) ms after the kill (bound \(bound) ms)")
        }
        #expect(!second.stderr.contains("database is locked"))
    }

    /// Two worker processes on one file: every job runs exactly once, both take work, no lock errors.
    @Test(arguments: Engine.allCases) func twoWorkerProcessesShareOneDatabase(_ engine: Engine) async throws {
        let tmp = try TempDir()
        let database = try await DaemonDatabase(engine, tmp: tmp)
        let runLog = tmp.path + "/runs.log"
        let queue = database.queue
        let total = 10_000
        _ = try await queue.enqueue((0..<total).map { _ in NewJob(kind: "noop", args: #"{"log":"\#(runLog)"}"#) })
        let workerArgs = ["serve", "--role", "worker"] + database.args + ["--queue", "default=50", "--log-level", "warning"]
        let a = try DaemonProcess(workerArgs, logDir: tmp.path, name: "a")
        let b = try DaemonProcess(workerArgs, logDir: tmp.path, name: "b")
        #expect(await eventually(timeout: .seconds(120)) { try await queue.count(.completed) == total })
        a.signal(SIGTERM)
        b.signal(SIGTERM)
        #expect(await a.waitForExit(timeout: .seconds(20)) == 0)
        #expect(await b.waitForExit(timeout: .seconds(20)) == 0)

        let runs = try readRunLog(runLog)
        #expect(runs.count == total)
        #expect(runs.values.allSatisfy { $0.count == 1 }, "no job ran twice")
        let pids = Set(runs.values.flatMap { $0.map(\.pid) })
        #expect(pids == [Int(a.pid), Int(b.pid)], "both processes took work")
        for process in [a, b] {
            #expect(!process.stderr.contains("database is locked"), "no lock error surfaced")
            #expect(!process.stderr.contains("fetch failed"))
        }
    }
}
