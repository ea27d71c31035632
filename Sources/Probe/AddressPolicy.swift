import Foundation

/// Whether an upstream address is private: loopback, RFC 1918, link-local, carrier-grade NAT, unique-local IPv6
/// or a local-only name. Imports refuse such targets unless the daemon allows them (`--allow-private-upstreams`),
/// so a pasted list cannot make the daemon probe its own network.
public enum AddressPolicy {
    /// Judged from the text alone: a literal IP in a private range, or `localhost` / `*.local` / `*.internal`.
    public static func isPrivate(host rawHost: String) -> Bool {
        let host = rawHost.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if host == "localhost" || host.hasSuffix(".localhost") || host.hasSuffix(".local") || host.hasSuffix(".internal") {
            return true
        }
        if let v4 = ipv4(host) { return isPrivate(v4) }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return isPrivate(v6) }
        return false
    }

    /// Resolves `host` and reports whether any address it names is private.
    public static func resolvesPrivate(host: String, resolver: any HostResolver = SystemResolver()) async -> Bool {
        if isPrivate(host: host) { return true }
        return await resolver.addresses(of: host).contains { isPrivate(host: $0) }
    }

    static func ipv4(_ text: String) -> UInt32? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return UInt32(bigEndian: address.s_addr)
    }

    static func isPrivate(_ v4: UInt32) -> Bool {
        let ranges: [(UInt32, UInt32)] = [
            (0x0000_0000, 8), (0x0A00_0000, 8), (0x6440_0000, 10), (0x7F00_0000, 8),
            (0xA9FE_0000, 16), (0xAC10_0000, 12), (0xC0A8_0000, 16),
        ]
        return ranges.contains { base, bits in v4 >> (32 - bits) == base >> (32 - bits) }
    }

    static func isPrivate(_ v6: in6_addr) -> Bool {
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && (bytes[15] == 0 || bytes[15] == 1) { return true }   // :: and ::1
        if bytes[0] & 0xFE == 0xFC { return true }                                                         // fc00::/7
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return true }                                     // fe80::/10
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {               // ::ffff:a.b.c.d
            return isPrivate(UInt32(bytes[12]) << 24 | UInt32(bytes[13]) << 16 | UInt32(bytes[14]) << 8 | UInt32(bytes[15]))
        }
        return false
    }
}
