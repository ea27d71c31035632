import Store

extension GatewayState {
    /// Up to `limit` channels for `model` that may take traffic and that `accept` allows: highest priority first,
    /// weighted-random inside a priority (weight 0 last). Draws from the model's prepared routes and copies out
    /// only the channels it picks, so routing costs the same with ten channels or ten thousand.
    /// `known` tells whether any channel lists the model at all.
    func candidates(for model: String, limit: Int, where accept: (RelayChannel) -> Bool = { _ in true })
        -> (channels: [(RelayChannel, String)], known: Bool) {
        snapshot.withLock { s in
            guard s.byModel[model] != nil else { return ([], false) }
            var picked: [(RelayChannel, String)] = []
            var seen = Set<Int>()
            func take(_ position: Int) {
                guard seen.insert(position).inserted else { return }
                let channel = s.channels[position]
                if accept(channel), let key = s.upstreamKeys[channel.id!] { picked.append((channel, key)) }
            }
            for group in s.routes[model] ?? [] where picked.count < limit {
                // Weighted draws (a few more than needed, since a draw can repeat), then the rest in order: that
                // also puts weight-0 channels last.
                var draws = 0
                let before = seen.count
                while picked.count < limit && seen.count - before < group.positions.count && draws < 4 * limit + 4,
                      let position = group.draw() {
                    draws += 1
                    take(position)
                }
                for position in group.positions where picked.count < limit { take(position) }
            }
            return (picked, true)
        }
    }
}
