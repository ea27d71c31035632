import Dispatch
import Foundation

/// Resolves a host name to addresses: the seam the node probe checks DNS through (tests answer by hand).
public protocol HostResolver: Sendable {
    /// The IPv4 (A) and IPv6 (AAAA) addresses of `host`, as text; empty when it does not resolve.
    func addresses(of host: String) async -> [String]
}

/// The system resolver (`getaddrinfo`), run off the caller's thread since it blocks.
public struct SystemResolver: HostResolver {
    public init() {}

    public func addresses(of host: String) async -> [String] {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: Self.lookup(host)) }
        }
    }

    static func lookup(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0 else { return [] }
        defer { freeaddrinfo(result) }
        var found: [String] = []
        var cursor = result
        while let info = cursor {
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            if info.pointee.ai_family == AF_INET {
                var address = info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count))
            } else if info.pointee.ai_family == AF_INET6 {
                var address = info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
            }
            let text = String(cString: buffer)
            if !text.isEmpty && !found.contains(text) { found.append(text) }
            cursor = info.pointee.ai_next
        }
        return found
    }
}
