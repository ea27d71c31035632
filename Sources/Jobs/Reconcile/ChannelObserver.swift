import Foundation
import Probe
import Store

/// Reads one channel's upstream the way an import does (models normalised through the catalog, a smoke call,
/// the optional capabilities) and says what it found. No writes; the key is only sent to the upstream.
struct ChannelObserver: Sendable {
    let check: UpstreamCheck

    func observe(_ channel: RelayChannel, key: String) async -> ReconcileObservation {
        let provider = channel.provider.flatMap { check.catalog.providers[$0] }
        let anthropic = channel.type == .anthropic
        let listed = await check.probe.models(baseURL: channel.baseURL, key: key, anthropic: anthropic)
        guard listed.step.classification == .ok else { return Self.failed(listed.step) }
        let names = check.normalized(listed.models, provider: provider?.name)

        // The model the profile was measured with, while listed; else the catalog's smoke model or any listed one.
        let candidates = [channel.capabilities?.model, provider?.smokeModel].compactMap { $0 }
            + channel.models + names.keys.sorted()
        guard let smoke = candidates.first(where: { names[$0] != nil || names.values.contains(channel.upstreamModel(for: $0)) }) else {
            return ReconcileObservation(reach: .ok, listed: names, passes: false, detail: "the upstream lists no model")
        }
        let upstreamModel = names[smoke] ?? channel.upstreamModel(for: smoke)
        let smokeStep = anthropic
            ? await check.probe.messages(baseURL: channel.baseURL, key: key, model: upstreamModel)
            : await check.probe.chat(baseURL: channel.baseURL, key: key, model: upstreamModel)
        if smokeStep.classification != .ok && (Self.isAuth(smokeStep) || smokeStep.classification.isTransient) {
            return Self.failed(smokeStep)
        }
        let passes = smokeStep.classification == .ok
        let detail = passes ? nil : Self.describe(smokeStep)
        // Anthropic-type channels are checked by their messages call only; their OpenAI endpoints mean nothing.
        guard !anthropic else { return ReconcileObservation(reach: .ok, listed: names, passes: passes, detail: detail) }
        let measured = await check.capabilities(baseURL: channel.baseURL, key: key, smoke: smoke, upstreamModel: upstreamModel,
                                                chat: passes, provider: provider)
        return ReconcileObservation(reach: .ok, listed: names, capabilities: measured.profile, passes: passes, detail: detail)
    }

    static func isAuth(_ step: ProbeStep) -> Bool { step.classification == .authFailed || step.classification == .forbidden }

    /// A step that kept the upstream from being checked: `auth_failed` for 401/403, else `unreachable`.
    static func failed(_ step: ProbeStep) -> ReconcileObservation {
        ReconcileObservation(reach: isAuth(step) ? .authFailed : .unreachable, passes: false, detail: describe(step))
    }

    /// "models: HTTP 401 …" (details are redacted by the probe client).
    static func describe(_ step: ProbeStep) -> String {
        let status = step.status == 0 ? "no answer" : "HTTP \(step.status)"
        return "\(step.step): \(status) (\(step.classification.rawValue))" + (step.detail.map { " \($0)" } ?? "")
    }
}
