import Store

extension GatewayState {
    /// Up to `limit` channels for `model` that may take traffic and that `accept` allows: highest priority first,
    /// weighted-random inside a priority (weight 0 last). Only the model's own channels are looked at and only
    /// the picked ones are copied out, so routing costs the same with ten channels or ten thousand.
    /// `known` tells whether any channel lists the model at all.
    func candidates(for model: String, limit: Int, where accept: (RelayChannel) -> Bool = { _ in true })
        -> (channels: [(RelayChannel, String)], known: Bool) {
        snapshot.withLock { s in
            guard let positions = s.byModel[model] else { return ([], false) }
            var groups: [Int: [(position: Int, weight: Int)]] = [:]
            for position in positions {
                let channel = s.channels[position]
                guard channel.status == .enabled, s.upstreamKeys[channel.id!] != nil, accept(channel) else { continue }
                groups[channel.priority, default: []].append((position, max(channel.weight, 0)))
            }
            var picked: [(RelayChannel, String)] = []
            for priority in groups.keys.sorted(by: >) where picked.count < limit {
                var pool = groups[priority]!
                while !pool.isEmpty && picked.count < limit {
                    let chosen = Self.weightedPick(pool.map(\.weight))
                    pool.swapAt(chosen, pool.count - 1)
                    let position = pool.removeLast().position
                    picked.append((s.channels[position], s.upstreamKeys[s.channels[position].id!]!))
                }
            }
            return (picked, true)
        }
    }

    /// An index drawn with probability proportional to its weight; the first one when every weight is 0.
    static func weightedPick(_ weights: [Int]) -> Int {
        let total = weights.reduce(0, +)
        guard total > 0 else { return 0 }
        var draw = Int.random(in: 0..<total)
        for (index, weight) in weights.enumerated() {
            if draw < weight { return index }
            draw -= weight
        }
        return weights.count - 1
    }
}
