import Store

extension GatewayState {
    /// What the data plane reads on every request: keys by hash, users, channels and their opened upstream keys,
    /// prices; and, per model, the channels that may take traffic, grouped by priority with their weights summed
    /// ahead, so choosing a channel costs the same with three channels for a model or three thousand.
    struct Snapshot: Sendable {
        var keysByHash: [String: APIKey] = [:]
        /// Key id → its hash (to find a key that an announcement names by id).
        var keyHashes: [Int64: String] = [:]
        /// Whether some key has a quota.
        var hasCappedKeys = false
        var users: [Int64: User] = [:]
        var channels: [RelayChannel] = []
        /// Channel id → its position in `channels`.
        var positions: [Int64: Int] = [:]
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

            mutating func add(_ position: Int, weight: Int) {
                positions.append(position)
                cumulative.append(total + max(weight, 0))
            }

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

        /// Puts one key (nil: gone) where authentication finds it.
        mutating func put(_ key: APIKey?, id: Int64) {
            if let hash = keyHashes.removeValue(forKey: id) { keysByHash[hash] = nil }
            guard let key else { return }
            keysByHash[key.keyHash] = key
            keyHashes[id] = key.keyHash
        }

        static func models(of channel: RelayChannel) -> Set<String> { Set(channel.models).union(channel.modelMapping.keys) }

        mutating func index() {
            byModel = [:]
            positions = [:]
            for (position, channel) in channels.enumerated() {
                positions[channel.id!] = position
                for model in Self.models(of: channel) { byModel[model, default: []].append(position) }
            }
            routes = [:]
            for model in byModel.keys { reroute(model) }
        }

        /// Rebuilds one model's routes from its channels' current status, key and weight.
        mutating func reroute(_ model: String) {
            var groups: [Int: RouteGroup] = [:]
            for position in byModel[model] ?? [] {
                // Fields read in place: a whole-channel copy per position adds up over thousands of channels.
                guard channels[position].status == .enabled, upstreamKeys[channels[position].id!] != nil else { continue }
                let priority = channels[position].priority
                groups[priority, default: RouteGroup(priority: priority)].add(position, weight: channels[position].weight)
            }
            routes[model] = groups.values.sorted { $0.priority > $1.priority }
        }

        /// Rebuilds the routes of every model the channel at `position` serves (after its status changed).
        mutating func reroute(channelAt position: Int) {
            for model in Self.models(of: channels[position]) { reroute(model) }
        }

        /// Puts one channel where it is (or at the end) and its opened key, keeping the model index right; nil
        /// marks it gone (left in place as disabled so positions stay valid; the next full reload drops it).
        /// Adds to `dirty` the models whose routes must be rebuilt: only when something routing reads changed
        /// (a pinned request re-reading an unchanged channel rebuilds nothing).
        mutating func put(_ found: RelayChannel?, id: Int64, key: String?, dirty: inout Set<String>) {
            guard let channel = found else {
                if let position = positions[id] {
                    channels[position].status = .disabled
                    upstreamKeys[id] = nil
                    dirty.formUnion(Self.models(of: channels[position]))
                }
                return
            }
            let new = Self.models(of: channel)
            guard let position = positions[id] else {
                channels.append(channel)
                positions[id] = channels.count - 1
                for model in new { byModel[model, default: []].append(channels.count - 1) }
                upstreamKeys[id] = key
                dirty.formUnion(new)
                return
            }
            let old = Self.models(of: channels[position])
            let routed = channels[position].status != channel.status || channels[position].priority != channel.priority
                || channels[position].weight != channel.weight || (upstreamKeys[id] == nil) != (key == nil) || old != new
            for model in old.subtracting(new) { byModel[model]?.removeAll { $0 == position } }
            for model in new.subtracting(old) { byModel[model, default: []].append(position) }
            channels[position] = channel
            upstreamKeys[id] = key
            if routed { dirty.formUnion(old.union(new)) }
        }
    }
}
