import Foundation
import Probe
import Store

/// How the yard reads an upstream, shared by `import.item` and `reconcile.run`: its model list in the catalog's
/// names, and its capability profile measured with one model.
struct UpstreamCheck: Sendable {
    let probe: ProbeClient
    let catalog: ProviderCatalog

    /// Client-facing name (the catalog's) → the upstream's own spelling; the first spelling listed wins.
    func normalized(_ listed: [String], provider: String?) -> [String: String] {
        var upstreamName: [String: String] = [:]
        for raw in listed {
            let name = catalog.normalize(raw, provider: provider)
            if upstreamName[name] == nil { upstreamName[name] = raw }
        }
        return upstreamName
    }

    /// The optional capabilities (streaming, tools, `/responses`, Anthropic messages), probed at once with the
    /// upstream's name for `smoke`. A failure only turns the capability off (`/responses` failing = chat-only).
    func capabilities(baseURL: String, key: String, smoke: String, upstreamModel: String, chat: Bool,
                      provider: Provider?) async -> (steps: [ProbeStep], profile: ChannelCapabilities) {
        async let stream = probe.stream(baseURL: baseURL, key: key, model: upstreamModel)
        async let tools = probe.tools(baseURL: baseURL, key: key, model: upstreamModel)
        async let responses = probe.responses(baseURL: baseURL, key: key, model: upstreamModel)
        async let messages = probe.messages(baseURL: baseURL, key: key, model: upstreamModel)
        let steps = await [stream, tools, responses, messages]
        let ok = { (step: ProbeStep) in step.classification == .ok }
        let profile = ChannelCapabilities(chat: chat, streaming: ok(steps[0]), tools: ok(steps[1]),
                                          responses: ok(steps[2]) && provider?.capabilities.responses != false,
                                          anthropicMessages: ok(steps[3]), model: smoke)
        return (steps, profile)
    }
}
