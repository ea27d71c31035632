import Foundation
@testable import Gateway
import Testing

@Suite struct RequestIdTests {
    @Test func idsAreUniqueHexAndOrderedByTheirMillisecond() {
        var seen = Set<String>()
        var previous = ""
        for _ in 0..<200_000 {
            let id = GatewayContext.makeRequestId()
            #expect(id.count == 24 && id.hasPrefix("req_"))
            let hex = id.dropFirst(4).allSatisfy { $0.isHexDigit }
            #expect(hex)
            #expect(seen.insert(id).inserted, "duplicate request id \(id)")
            // The first 11 digits are the clock: a later id never sorts before an earlier one's millisecond.
            #expect(id.prefix(15) >= previous.prefix(15))
            previous = id
        }
    }

    @Test func shuffledCounterIsOneToOne() {
        // Consecutive counters map to distinct values that do not simply count up.
        let values = (UInt64(0)..<(1 << 18)).map(GatewayContext.scramble)
        #expect(Set(values).count == values.count)
        let inRange = values.allSatisfy { $0 < 1 << 36 }
        let countingUp = zip(values, values.dropFirst()).filter { $1 == $0 + 1 }.count
        #expect(inRange)
        #expect(countingUp < 16)
    }
}
