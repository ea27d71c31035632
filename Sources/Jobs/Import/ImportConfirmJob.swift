import Foundation
import Probe
import Scheduler
import Store

/// `import.confirm`: proves access through the gateway itself, pinned to the item's channel: `GET /v1/models`
/// lists the smoke model AND a minimal chat completion answers 200. When it does not, the same chat goes to the
/// upstream directly, so the failure can be told apart: works directly but not through the gateway (a host compatibility gap) or
/// refused by the upstream itself (key, quota, reachability).
struct ImportConfirmJob: JobHandler {
    let kind = ImportJobs.confirm.name
    let env: ImportEnvironment

    func run(_ context: JobContext) async throws -> JobResult {
        let args = try ImportJobs.confirm.arguments(in: context)
        let loaded = try await env.runs.confirming(runId: args.runId, index: args.index)
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
            try await env.runs.confirmed(runId: run.id, index: item.index, trail: trail,
                                         statuses: ImportRepository.ChatStatuses(upstream: chat.status, direct: nil))
            return .completed
        }
        let upstreamModel = try await env.db.channel(channelId, background: true)?.upstreamModel(for: smoke) ?? smoke
        let direct = await env.probe.chat(baseURL: item.baseURL, key: key, model: upstreamModel, step: "direct_chat")
        steps.append(direct)
        let trail = env.trailEntries(steps, phase: "confirm", attempt: context.job.attempt)
        let statuses = ImportRepository.ChatStatuses(upstream: gatewayChat?.status, direct: direct.status)

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
            try await env.runs.retrying(runId: run.id, index: item.index, trail: trail, classification: classification, phase: "confirm",
                                        statuses: statuses)
            throw JobError.retryAfter(delay, "confirmation: \(classification)")
        }
        try await env.runs.fail(runId: run.id, index: item.index, trail: trail, classification: classification, detail: deciding.detail,
                                phase: "confirm", statuses: statuses)
        return .completed
    }
}
