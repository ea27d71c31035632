import Foundation

/// What the project knows about one provider: defaults for an import, its models, the aliases people type for
/// them, and what its API can do. One JSON file per provider under `providers/`.
public struct Provider: Codable, Sendable, Equatable {
    public struct Capabilities: Codable, Sendable, Equatable {
        public var chat: Bool
        public var streaming: Bool
        public var tools: Bool
        public var responses: Bool
        public var anthropicMessages: Bool

        enum CodingKeys: String, CodingKey {
            case chat, streaming, tools, responses
            case anthropicMessages = "anthropic_messages"
        }
    }

    public var name: String
    public var displayName: String
    /// `openai` or `anthropic`: the wire format of its API.
    public var type: String
    public var defaultBaseURL: String
    public var smokeModel: String
    public var models: [String]
    /// What people write → the provider's model name.
    public var aliases: [String: String]
    /// Prefixes that routers and catalogs put before its model names (`moonshotai/`).
    public var modelPrefixes: [String]
    public var capabilities: Capabilities

    enum CodingKeys: String, CodingKey {
        case name, type, models, aliases, capabilities
        case displayName = "display_name"
        case defaultBaseURL = "default_base_url"
        case smokeModel = "smoke_model"
        case modelPrefixes = "model_prefixes"
    }
}

/// Every known provider, and the one place model names are normalised.
public struct ProviderCatalog: Sendable {
    public let providers: [String: Provider]
    /// Canonical form → model name, per provider ("" holds the names of every provider).
    private let lookup: [String: [String: String]]

    public init(_ providers: [Provider]) {
        var byName: [String: Provider] = [:]
        var lookup: [String: [String: String]] = [:]
        for provider in providers {
            byName[provider.name] = provider
            var own: [String: String] = [:]
            for model in provider.models { own[Self.canonical(model, prefixes: provider.modelPrefixes)] = model }
            for (alias, target) in provider.aliases { own[Self.canonical(alias, prefixes: provider.modelPrefixes)] = target }
            lookup[provider.name] = own
            lookup["", default: [:]].merge(own) { first, _ in first }
        }
        self.providers = byName
        self.lookup = lookup
    }

    /// Reads every `*.json` in `directory`; a file that does not parse is an error naming it.
    public static func load(directory: URL) throws -> ProviderCatalog {
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        var providers: [Provider] = []
        for file in files {
            do {
                providers.append(try JSONDecoder().decode(Provider.self, from: Data(contentsOf: file)))
            } catch {
                throw ProbeError(message: "provider catalog \(file.lastPathComponent) is invalid: \(error)")
            }
        }
        return ProviderCatalog(providers)
    }

    /// The provider's own name for `raw` ("Kimi 2.6" → "kimi-k2.6", "moonshotai/Kimi-K2.6" → "kimi-k2.6"); a name
    /// the catalog does not know comes back in canonical form (lower case, separators as `-`, prefixes dropped).
    public func normalize(_ raw: String, provider: String? = nil) -> String {
        let prefixes = provider.flatMap { providers[$0]?.modelPrefixes } ?? providers.values.flatMap(\.modelPrefixes)
        let key = Self.canonical(raw, prefixes: prefixes)
        if let provider, let known = lookup[provider]?[key] { return known }
        return lookup[""]?[key] ?? key
    }

    /// Lower case, known prefixes dropped, runs of spaces, underscores and dashes as one `-`.
    static func canonical(_ raw: String, prefixes: [String]) -> String {
        var text = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        for prefix in prefixes.sorted(by: { $0.count > $1.count }) where text.hasPrefix(prefix.lowercased()) {
            text.removeFirst(prefix.count)
            break
        }
        var out = ""
        var lastWasSeparator = false
        for character in text {
            if character == " " || character == "_" || character == "-" {
                if !lastWasSeparator && !out.isEmpty { out.append("-") }
                lastWasSeparator = true
            } else {
                out.append(character)
                lastWasSeparator = false
            }
        }
        while out.hasSuffix("-") { out.removeLast() }
        return out
    }
}
