import Foundation

/// A channel's model list made to match what its upstream lists now. A stored model is still there when the
/// upstream lists its client name or the upstream name it maps to; listed models no stored one covers are added
/// (with a mapping when the upstream spells them differently), and aliases whose target is gone are dropped.
public struct ModelPatch: Sendable, Equatable {
    public var models: [String]
    public var mapping: [String: String]
    public var added: [String]
    public var removed: [String]

    public init(_ channel: RelayChannel, listed: [String: String]) {
        let upstreamNames = Set(listed.values)
        let present = { (name: String) in listed[name] != nil || upstreamNames.contains(channel.upstreamModel(for: name)) }
        removed = channel.models.filter { !present($0) }
        models = channel.models.filter(present)
        mapping = channel.modelMapping.filter { present($0.key) }
        removed += channel.modelMapping.keys.filter { !present($0) && !channel.models.contains($0) }.sorted()
        let covered = Set(models.flatMap { [$0, channel.upstreamModel(for: $0)] } + mapping.values)
        added = listed.filter { !covered.contains($0.key) && !covered.contains($0.value) }.keys.sorted()
        for name in added {
            models.append(name)
            if listed[name] != name { mapping[name] = listed[name] }
        }
    }
}
