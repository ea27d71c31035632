import Foundation
import Logging
import Probe
import Scheduler
import Store

/// `import.item`: probes one upstream directly (models, a smoke chat, streaming, tools, `/responses`, Anthropic
/// messages), normalises its models through the catalog, then applies the reuse policy and schedules the
/// confirmation. Transient failures retry inside the run's window; permanent ones fail the item at once.
struct ImportItemJob: JobHandler {
    let kind = ImportJobs.item.name
    let env: ImportEnvironment

    func run(_ context: JobContext) async throws -> JobResult {
        let args = try ImportJobs.item.arguments(in: context)
        let begin = try await env.runs.beginProbe(runId: args.runId, index: args.index, slotTTL: env.slotTTL)
        let item: ImportItem, run: ImportRun
        switch begin {
        case .skip: return .completed
        case .wait(let delay): return .snooze(delay)
        case .proceed(let i, let r): (item, run) = (i, r)
        }
        let key = try env.secrets.openString(item.apiKeySealed)
        let provider = item.provider.flatMap { env.catalog.providers[$0] }
        let logger = context.logger.with(["run_id": "\(run.id)", "item": "\(item.index)"])

        let (steps, result) = await probe(item: item, key: key, provider: provider)
        let trail = env.trailEntries(steps, phase: "probe", attempt: context.job.attempt)
        switch result {
        case .failure(let failure):
            let allTrail = item.trail + trail
            if let delay = env.retryDecision(failure, job: context.job, options: run.options, trail: allTrail, phase: "probe") {
                try await env.runs.retrying(runId: run.id, index: item.index, trail: trail,
                                            classification: failure.classification.rawValue, phase: "probe")
                throw JobError.retryAfter(delay, "probe \(failure.step): \(failure.classification.rawValue)")
            }
            try await env.runs.fail(runId: run.id, index: item.index, trail: trail, classification: failure.classification.rawValue,
                                    detail: failure.detail, phase: "probe")
            logger.info("import item failed", metadata: ["classification": "\(failure.classification.rawValue)"])
        case .success(let proposal, let probed):
            let outcome = try await env.runs.provision(runId: run.id, index: item.index, trail: trail, proposal: proposal, probed: probed)
            logger.info("import item provisioned", metadata: ["outcome": "\(outcome?.rawValue ?? "none")"])
        }
        return .completed
    }

    enum ProbeOutcome {
        case failure(ProbeStep)
        case success(ChannelProposal, ImportProgress.Probed)
    }

    /// Every step of the direct probe; stops at the first failure of a required one (models, smoke chat).
    func probe(item: ImportItem, key: String, provider: Provider?) async -> ([ProbeStep], ProbeOutcome) {
        let base = item.baseURL
        guard let host = URL(string: base)?.host else {
            let step = ProbeStep(step: "address", status: 0, latencyMs: 0, classification: .unreachable, detail: "no host in base_url")
            return ([step], .failure(step))
        }
        if !env.allowPrivate, await AddressPolicy.resolvesPrivate(host: host) {
            let step = ProbeStep(step: "address", status: 0, latencyMs: 0, classification: .unreachable,
                                 detail: "\(host) is a private or loopback address; the daemon refuses those without --allow-private-upstreams")
            return ([step], .failure(step))
        }
        let providerName = provider?.name ?? item.provider ?? host
        let listed = await env.probe.models(baseURL: base, key: key)
        var steps = [listed.step]
        guard listed.step.classification == .ok else { return (steps, .failure(listed.step)) }

        // Client-facing names are the catalog's; the upstream's own spelling is kept as a mapping.
        let check = UpstreamCheck(probe: env.probe, catalog: env.catalog)
        let upstreamName = check.normalized(listed.models, provider: provider?.name)
        let wanted = item.requestedModels.map { $0.map { env.catalog.normalize($0, provider: provider?.name) } }
        if let missing = wanted?.first(where: { upstreamName[$0] == nil }) {
            let step = ProbeStep(step: "models", status: listed.step.status, latencyMs: 0, classification: .modelMissing,
                                 detail: "\(missing) is not listed by the upstream")
            steps.append(step)
            return (steps, .failure(step))
        }
        let models = (wanted ?? Array(upstreamName.keys)).sorted()
        let smokeRaw = item.smokeModel ?? provider?.smokeModel ?? models.first ?? ""
        let smoke = env.catalog.normalize(smokeRaw, provider: provider?.name)
        guard let smokeUpstream = upstreamName[smoke] else {
            let step = ProbeStep(step: "models", status: listed.step.status, latencyMs: 0, classification: .modelMissing,
                                 detail: "smoke model \(smoke) is not listed by the upstream")
            steps.append(step)
            return (steps, .failure(step))
        }
        let chat = await env.probe.chat(baseURL: base, key: key, model: smokeUpstream)
        steps.append(chat)
        guard chat.classification == .ok else { return (steps, .failure(chat)) }

        let (optional, capabilities) = await check.capabilities(baseURL: base, key: key, smoke: smoke, upstreamModel: smokeUpstream,
                                                                chat: true, provider: provider)
        steps += optional
        var mapping: [String: String] = [:]
        for model in models where upstreamName[model] != model { mapping[model] = upstreamName[model] }
        let family = ReusePolicy.family(of: smoke)
        let proposal = ChannelProposal(
            name: item.name ?? "\(providerName) \(family) \(item.keyFingerprint)", provider: providerName, family: family,
            baseURL: base, keyFingerprint: item.keyFingerprint, apiKeySealed: item.apiKeySealed,
            models: models, modelMapping: mapping, capabilities: capabilities)
        return (steps, .success(proposal, ImportProgress.Probed(smokeModel: smoke, directChatStatus: chat.status)))
    }
}

extension Logger {
    func with(_ metadata: Logger.Metadata) -> Logger {
        var copy = self
        for (key, value) in metadata { copy[metadataKey: key] = value }
        return copy
    }
}
