import PostgresNIO

extension PostgresQueue {
    static let scheduleColumns = "name, kind, queue, args::text, interval_ms, enabled, last_slot_at, last_job_id, updated_at"

    public func register(_ schedules: [Schedule]) async throws {
        guard !schedules.isEmpty else { return }
        var binds = PostgresBindings()
        binds.append(schedules.map(\.name))
        binds.append(schedules.map(\.kind))
        binds.append(schedules.map(\.queue))
        binds.append(schedules.map(\.args))
        binds.append(schedules.map(\.interval.milliseconds))
        binds.append(schedules.map(\.enabled))
        binds.append(clock.nowMillis())
        // What the code defines (kind, queue, args) follows the code; interval and enabled stay the operator's.
        try await client.query(PostgresQuery(unsafeSQL: """
            INSERT INTO schedules (name, kind, queue, args, interval_ms, enabled, updated_at)
            SELECT name, kind, queue, args::jsonb, interval_ms, enabled, $7
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::bool[])
                AS s(name, kind, queue, args, interval_ms, enabled)
            ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, queue = excluded.queue, args = excluded.args
            """, binds: binds), logger: logger)
    }

    public func schedules() async throws -> [ScheduleRecord] {
        try await Self.scheduleRecords(client.query(
            "SELECT \(unescaped: Self.scheduleColumns) FROM schedules ORDER BY name", logger: logger))
    }

    public func updateSchedule(name: String, interval: Duration?, enabled: Bool?) async throws -> ScheduleRecord {
        if let interval, interval.milliseconds < 1000 {
            throw SchedulerError.invalidJob("interval must be at least 1 second")
        }
        let rows = try await client.query("""
            UPDATE schedules SET interval_ms = coalesce(\(interval?.milliseconds), interval_ms),
                enabled = coalesce(\(enabled), enabled), updated_at = \(clock.nowMillis())
            WHERE name = \(name) RETURNING \(unescaped: Self.scheduleColumns)
            """, logger: logger)
        guard let record = try await Self.scheduleRecords(rows).first else {
            throw SchedulerError(code: .notFound, message: "schedule \(name) not found")
        }
        return record
    }

    public func runSchedule(name: String) async throws -> EnqueueResult {
        let result = try await client.withConnection { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.scheduleColumns) FROM schedules WHERE name = \(name)", logger: self.logger)
            guard let schedule = try await Self.scheduleRecords(rows).first else {
                throw SchedulerError(code: .notFound, message: "schedule \(name) not found")
            }
            // Its own unique key: a second run-now while the first is live is reported duplicate, and it never
            // takes the place of a periodic slot's job.
            let job = NewJob(kind: schedule.kind, args: schedule.args, queue: schedule.queue, maxAttempts: 3,
                             uniqueKey: "schedule:\(schedule.name):manual")
            return (try await self.enqueue([job], in: connection)[0], schedule.queue)
        }
        notifier.notify(queues: [result.1])
        return result.0
    }

    /// One statement per due schedule, in one transaction: the compare-and-set on `last_slot_at` lets one of any
    /// number of daemons win each slot, and the slot's job is enqueued in the same transaction.
    public func enqueueDueSchedules() async throws -> [EnqueueResult] {
        let now = clock.nowMillis()
        let (results, queues) = try await client.inTransaction(logger: logger) { connection in
            var results: [EnqueueResult] = []
            var queues: Set<String> = []
            let due = try await Self.scheduleRecords(connection.query(
                "SELECT \(unescaped: Self.scheduleColumns) FROM schedules WHERE enabled ORDER BY name", logger: self.logger))
            for schedule in due {
                let slot = Schedule.slot(containing: now, intervalMillis: schedule.intervalMs)
                if let last = schedule.lastSlotAt, last >= slot { continue }
                let won = try await connection.query("""
                    UPDATE schedules SET last_slot_at = \(slot)
                    WHERE name = \(schedule.name) AND (last_slot_at IS NULL OR last_slot_at < \(slot)) RETURNING name
                    """, logger: self.logger)
                var claimed = false
                for try await _ in won.decode(String.self) { claimed = true }
                guard claimed else { continue }
                let job = NewJob(
                    kind: schedule.kind, args: schedule.args, queue: schedule.queue, maxAttempts: 3,
                    retryUntil: slot + schedule.intervalMs, uniqueKey: "schedule:\(schedule.name):\(slot)")
                let result = try await self.enqueue([job], in: connection)[0]
                try await connection.query(
                    "UPDATE schedules SET last_job_id = \(result.id) WHERE name = \(schedule.name)", logger: self.logger)
                results.append(result)
                queues.insert(schedule.queue)
            }
            return (results, queues)
        }
        notifier.notify(queues: queues)
        return results
    }

    static func scheduleRecords(_ rows: PostgresRowSequence) async throws -> [ScheduleRecord] {
        var records: [ScheduleRecord] = []
        for try await (name, kind, queue, args, interval, enabled, lastSlot, lastJob, updated)
            in rows.decode((String, String, String, String, Int64, Bool, Int64?, Int64?, Int64).self) {
            records.append(ScheduleRecord(name: name, kind: kind, queue: queue, args: args, intervalMs: interval,
                                          enabled: enabled, lastSlotAt: lastSlot, lastJobId: lastJob, updatedAt: updated))
        }
        return records
    }
}
