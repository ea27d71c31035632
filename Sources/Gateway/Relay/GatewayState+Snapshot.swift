import Store

extension GatewayState {
    /// What the data plane reads on every request: keys by hash, users, channels and their opened upstream keys,
    /// prices; and, per model, the channels that may take traffic, grouped by priority with their weights summed
    /// ahead, so choosing a channel costs the same with three channels for a model or three thousand.
    struct Snapshot: Sendable {
        var keysByHash: [String: APIKey] = [:]
        var users: [Int64: User] = [:]
        var channels: [RelayChannel] = []
        var upstreamKeys: [Int64: String] = [:]
        var prices: [String: ModelPrice] = [:]
        /// Client model name → positions in `channels` of every channel serving it, whatever its status.
        var byModel: [String: [Int]] = [:]
        /// Client model name → the enabled channels with a key that serve it, highest priority first.
        var routes: [String: [RouteGroup]] = [:]

        /// Channels of one priority: positions and running sums of their weights (for weighted picks).
        struct RouteGroup: Sendable {
            let priority: Int
            var positions: [Int] = []
            var cumulative: [Int] = []
            var total: Int { cumulative.last ?? 0 }

            /// A position drawn with probability proportional to its weight (nil when every weight is 0).
            func draw() -> Int? {
                guard total > 0 else { return nil }
                var generator = FastRandom()
                let target = Int.random(in: 0..<total, using: &generator)
                var low = 0, high = cumulative.count - 1
                while low < high {
                    let middle = (low + high) / 2
                    if cumulative[middle] > target { high = middle } else { low = middle + 1 }
                }
                return positions[low]
            }
        }

        static func models(of channel: RelayChannel) -> Set<String> { Set(channel.models).union(channel.modelMapping.keys) }

        mutating func index() {
            byModel = [:]
            for (position, channel) in channels.enumerated() {
                for model in Self.models(of: channel) { byModel[model, default: []].append(position) }
            }
            routes = [:]
            for model in byModel.keys { reroute(model) }
        }

        /// Rebuilds one model's routes from its channels' current status, key and weight.
        mutating func reroute(_ model: String) {
            var groups: [Int: RouteGroup] = [:]
            for position in byModel[model] ?? [] {
                let channel = channels[position]
                guard channel.status == .enabled, upstreamKeys[channel.id!] != nil else { continue }
                var group = groups[channel.priority] ?? RouteGroup(priority: channel.priority)
                group.positions.append(position)
                group.cumulative.append(group.total + max(channel.weight, 0))
                groups[channel.priority] = group
            }
            routes[model] = groups.values.sorted { $0.priority > $1.priority }
        }

        /// Rebuilds the routes of every model the channel at `position` serves (after its status changed).
        mutating func reroute(channelAt position: Int) {
            for model in Self.models(of: channels[position]) { reroute(model) }
        }
    }
}
