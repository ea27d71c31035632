import Foundation
import GRDB
import Probe
import Scheduler
import Store

/// `import.confirm`: proves access through the gateway itself, pinned to the item's channel: `GET /v1/models`
/// lists the smoke model AND a minimal chat completion answers 200. When it does not, the same chat goes to the
/// upstream directly, so the failure can be told apart: works directly but not through the gateway (a host compatibility gap) or
/// refused by the upstream itself (key, quota, reachability).
struct ImportConfirmJob: JobHandler {
    let kind = "import.confirm"
    let env: ImportEnvironment

    func run(_ context: JobContext) async throws -> JobResult {
        let args = try context.decode(ImportRuns.ItemArgs.self)
        let loaded = try await env.db.backgroundRead { db -> (ImportItem, ImportRun)? in
            guard let run = try ImportRun.fetchOne(db, key: args.runId), !run.state.isFinal,
                  let item = try ImportItem.fetchOne(db, key: ["run_id": args.runId, "idx": args.index]),
                  item.state == .confirming else { return nil }
            return (item, run)
        }
        guard let (item, run) = loaded, let channelId = item.channelId, let smoke = item.smokeModel else { return .completed }
        guard let gateway = env.gateway.baseURL else {
            throw JobError.retryAfter(.seconds(1), "the gateway is not listening yet")
        }
        let key = try env.secrets.openString(item.apiKeySealed)
        let pin = ChannelPin.headers(channelId: channelId)
        let listed = await env.probe.models(baseURL: gateway, key: env.gateway.adminToken, headers: pin)
        var viaGateway = listed.step
        viaGateway.step = "gateway_models"
        if viaGateway.classification == .ok && !listed.models.contains(smoke) {
            viaGateway.classification = .modelMissing
            viaGateway.detail = "the gateway does not list \(smoke) for this channel"
        }
        var steps = [viaGateway]
        var gatewayChat: ProbeStep?
        if viaGateway.classification == .ok {
            let chat = await env.probe.chat(baseURL: gateway, key: env.gateway.adminToken, model: smoke, step: "gateway_chat", headers: pin)
            steps.append(chat)
            gatewayChat = chat
        }
        if let chat = gatewayChat, chat.classification == .ok {
            // Confirmed. The direct call is only needed to tell whose failure a failure is; the probe's direct
            // chat status stands.
            let trail = env.trailEntries(steps, phase: "confirm", attempt: context.job.attempt)
            try await env.db.backgroundWrite { [env] db in
                try ImportProgress.record(db, runId: run.id, index: item.index, trail: trail, now: env.clock.nowMillis())
                try Self.setStatuses(db, run.id, item.index, (upstream: chat.status, direct: nil))
                try ImportProgress.succeed(db, queue: env.queue, runId: run.id, index: item.index, accessStatus: "confirmed",
                                           now: env.clock.nowMillis())
            }
            return .completed
        }
        let upstreamModel = try await env.db.backgroundRead { db in try RelayChannel.fetchOne(db, key: channelId) }?.upstreamModel(for: smoke) ?? smoke
        let direct = await env.probe.chat(baseURL: item.baseURL, key: key, model: upstreamModel, step: "direct_chat")
        steps.append(direct)
        let trail = env.trailEntries(steps, phase: "confirm", attempt: context.job.attempt)
        let statuses = (upstream: gatewayChat?.status, direct: direct.status)

        // Through the gateway it failed: whose failure is it?
        let failure = gatewayChat ?? viaGateway
        let classification: String
        let deciding: ProbeStep
        if direct.classification == .ok {
            classification = "host_compatibility_gap"
            deciding = failure.classification.isTransient ? failure : ProbeStep(
                step: failure.step, status: failure.status, latencyMs: failure.latencyMs, classification: .notOpenAICompatible,
                detail: failure.detail)
        } else {
            classification = direct.classification.rawValue
            deciding = direct
        }
        let allTrail = item.trail + trail
        if let delay = env.retryDecision(deciding, job: context.job, options: run.options, trail: allTrail, phase: "confirm") {
            try await env.db.backgroundWrite { [env] db in
                try ImportProgress.record(db, runId: run.id, index: item.index, trail: trail, now: env.clock.nowMillis())
                try Self.setStatuses(db, run.id, item.index, statuses)
                try ImportEvent.append(db, runId: run.id, item: item.index, type: "item.retrying",
                                       data: ["classification": .string(classification), "phase": "confirm"], at: env.clock.nowMillis())
            }
            throw JobError.retryAfter(delay, "confirmation: \(classification)")
        }
        try await env.db.backgroundWrite { [env] db in
            try ImportProgress.record(db, runId: run.id, index: item.index, trail: trail, now: env.clock.nowMillis())
            try Self.setStatuses(db, run.id, item.index, statuses)
            try ImportProgress.fail(db, queue: env.queue, runId: run.id, index: item.index, classification: classification,
                                    detail: deciding.detail, phase: "confirm", now: env.clock.nowMillis())
        }
        return .completed
    }

    /// The chat statuses through the gateway and direct; a nil direct status keeps the one the probe recorded.
    static func setStatuses(_ db: Database, _ runId: String, _ index: Int, _ statuses: (upstream: Int?, direct: Int?)) throws {
        try db.execute(sql: """
            UPDATE import_items SET upstream_chat_status = ?, direct_chat_status = coalesce(?, direct_chat_status)
            WHERE run_id = ? AND idx = ?
            """, arguments: [statuses.upstream, statuses.direct, runId, index])
    }
}
