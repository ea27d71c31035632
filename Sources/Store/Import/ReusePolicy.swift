import Foundation

/// What an import found out about one upstream, ready to become (or update) a channel.
public struct ChannelProposal: Sendable, Equatable {
    public var name: String
    public var provider: String
    public var family: String
    public var baseURL: String
    public var keyFingerprint: String
    public var apiKeySealed: Data
    public var models: [String]
    public var modelMapping: [String: String]
    public var capabilities: ChannelCapabilities

    public init(name: String, provider: String, family: String, baseURL: String, keyFingerprint: String, apiKeySealed: Data,
                models: [String], modelMapping: [String: String], capabilities: ChannelCapabilities) {
        self.name = name
        self.provider = provider
        self.family = family
        self.baseURL = baseURL
        self.keyFingerprint = keyFingerprint
        self.apiKeySealed = apiKeySealed
        self.models = models
        self.modelMapping = modelMapping
        self.capabilities = capabilities
    }
}

/// Decides, for one probed upstream, whether a channel is created, reused, patched, re-keyed or reactivated.
/// Identity is provider + model family (+ base URL): the same key there is the same channel; a new key there
/// replaces the old one's key rather than adding a second channel. A channel this same run already created or
/// changed is never replaced by another item of the run (two keys in one list are two channels).
public enum ReusePolicy {
    public enum Decision: Sendable, Equatable {
        case create
        case reuse(RelayChannel)
        /// Models, mapping or capabilities changed; key and status as they are.
        case patch(RelayChannel)
        case replace(RelayChannel)
        case reactivate(RelayChannel)

        public var outcome: ImportItem.Outcome {
            switch self {
            case .create: .created
            case .reuse: .reused
            case .patch: .patchOnly
            case .replace: .replaced
            case .reactivate: .reactivated
            }
        }
    }

    /// `existing`: the channels that may be reused or re-keyed (the caller leaves out those this run already holds).
    public static func decide(_ proposal: ChannelProposal, existing: [RelayChannel]) -> Decision {
        let same = existing.filter {
            $0.provider == proposal.provider && $0.family == proposal.family && Self.sameBase($0.baseURL, proposal.baseURL)
        }
        if let match = same.first(where: { $0.keyFingerprint == proposal.keyFingerprint }) {
            if match.status == .disabled || match.status == .autoDisabled { return .reactivate(match) }
            let unchanged = Set(match.models) == Set(proposal.models) && match.modelMapping == proposal.modelMapping
                && match.capabilities == proposal.capabilities
            return unchanged ? .reuse(match) : .patch(match)
        }
        if let old = same.min(by: { $0.id! < $1.id! }) { return .replace(old) }
        return .create
    }

    /// Base URLs equal up to case of scheme and host and a trailing `/` or `/v1`.
    static func sameBase(_ a: String, _ b: String) -> Bool { canonicalBase(a) == canonicalBase(b) }

    public static func canonicalBase(_ raw: String) -> String {
        var text = raw.trimmingCharacters(in: .whitespaces)
        while text.hasSuffix("/") { text.removeLast() }
        if text.lowercased().hasSuffix("/v1") { text.removeLast(3) }
        guard let url = URL(string: text), let scheme = url.scheme, let host = url.host else { return text }
        let port = url.port.map { ":\($0)" } ?? ""
        return "\(scheme.lowercased())://\(host.lowercased())\(port)\(url.path)"
    }

    /// The family of a model name: its leading letters (`kimi-k2.6` → `kimi`, `gpt-4o-mini` → `gpt`,
    /// `claude-sonnet-4` → `claude`, `MiniMax-M2` → `minimax`).
    public static func family(of model: String) -> String {
        let letters = model.lowercased().prefix { $0.isLetter }
        return letters.isEmpty ? model.lowercased() : String(letters)
    }
}
