import Foundation

/// A loopback port free right now, below the kernel's ephemeral range (32768–60999 here): for a server a test
/// stops and starts again on the same port. A port from the ephemeral range can be taken meanwhile as the local
/// port of one of the many client connections the tests open (PostgreSQL pools), and the restart then cannot bind.
public func stableLoopbackPort() throws -> Int {
    for _ in 0..<100 {
        let port = Int.random(in: 20_000..<32_000)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { continue }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        if bound { return port }
    }
    throw Spawn.Failure(description: "no free loopback port below 32000")
}
