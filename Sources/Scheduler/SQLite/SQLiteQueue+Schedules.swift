import GRDB

extension SQLiteQueue {
    public func register(_ schedules: [Schedule]) async throws {
        let now = clock.nowMillis()
        try await pool.write { db in
            for schedule in schedules {
                // What the code defines (kind, queue, args) follows the code; interval and enabled stay the operator's.
                try db.execute(sql: """
                    INSERT INTO schedules (name, kind, queue, args, interval_ms, enabled, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, queue = excluded.queue, args = excluded.args
                    """, arguments: [schedule.name, schedule.kind, schedule.queue, schedule.args,
                                     schedule.interval.milliseconds, schedule.enabled, now])
            }
        }
    }

    public func schedules() async throws -> [ScheduleRecord] {
        try await pool.read { db in try ScheduleRecord.fetchAll(db, sql: "SELECT * FROM schedules ORDER BY name") }
    }

    public func updateSchedule(name: String, interval: Duration?, enabled: Bool?) async throws -> ScheduleRecord {
        if let interval, interval.milliseconds < 1000 {
            throw SchedulerError.invalidJob("interval must be at least 1 second")
        }
        let now = clock.nowMillis()
        return try await pool.write { db in
            let record = try ScheduleRecord.fetchOne(db, sql: """
                UPDATE schedules SET interval_ms = coalesce(?, interval_ms), enabled = coalesce(?, enabled), updated_at = ?
                WHERE name = ? RETURNING *
                """, arguments: [interval?.milliseconds, enabled, now, name])
            guard let record else { throw SchedulerError(code: .notFound, message: "schedule \(name) not found") }
            return record
        }
    }

    public func runSchedule(name: String) async throws -> EnqueueResult {
        try await pool.write { db in
            let schedule = try ScheduleRecord.fetchOne(db, sql: "SELECT * FROM schedules WHERE name = ?", arguments: [name])
            guard let schedule else { throw SchedulerError(code: .notFound, message: "schedule \(name) not found") }
            // Its own unique key: a second run-now while the first is live is reported duplicate, and it never
            // takes the place of a periodic slot's job.
            let job = NewJob(kind: schedule.kind, args: schedule.args, queue: schedule.queue, maxAttempts: 3,
                             uniqueKey: "schedule:\(schedule.name):manual")
            return try self.enqueue([job], in: db)[0]
        }
    }

    public func enqueueDueSchedules() async throws -> [EnqueueResult] {
        let now = clock.nowMillis()
        return try await pool.write { db in
            var results: [EnqueueResult] = []
            let due = try ScheduleRecord.fetchAll(db, sql: "SELECT * FROM schedules WHERE enabled")
            for schedule in due {
                let slot = Schedule.slot(containing: now, intervalMillis: schedule.intervalMs)
                if let last = schedule.lastSlotAt, last >= slot { continue }
                // Compare-and-set on the slot: of any number of daemons, one wins each slot.
                try db.execute(sql: """
                    UPDATE schedules SET last_slot_at = ? WHERE name = ? AND coalesce(last_slot_at < ?, 1)
                    """, arguments: [slot, schedule.name, slot])
                guard db.changesCount == 1 else { continue }
                let job = NewJob(
                    kind: schedule.kind, args: schedule.args, queue: schedule.queue, maxAttempts: 3,
                    retryUntil: slot + schedule.intervalMs, uniqueKey: "schedule:\(schedule.name):\(slot)")
                let result = try self.enqueue([job], in: db)[0]
                try db.execute(sql: "UPDATE schedules SET last_job_id = ? WHERE name = ?", arguments: [result.id, schedule.name])
                results.append(result)
            }
            return results
        }
    }

    /// Runs `body` in a write transaction of the queue's database; for callers that enqueue with business writes.
    public func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        try await pool.write(body)
    }
}
