import Synchronization

/// A cheap, process-wide random source for routing draws: SplitMix64 over an atomic counter
/// seeded once from the system. `SystemRandomNumberGenerator` makes a `getrandom` system call per number, too
/// dear for a draw per request. Not for secrets (keys and tokens use the system).
struct FastRandom: RandomNumberGenerator {
    private static let state = Atomic<UInt64>(UInt64.random(in: 0...UInt64.max))

    mutating func next() -> UInt64 {
        var z = Self.state.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
