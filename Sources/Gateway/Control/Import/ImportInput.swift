import Foundation
import Hummingbird
import Probe
import Store

/// The body of `POST /api/batch-import/runs`: JSON `{items, options}` or text with one
/// `base_url api_key [provider]` per line (blank lines and `#` comments skipped). Validation names every bad
/// item by index, so an operator fixes the whole list at once.
struct ImportInput: Decodable {
    struct Item: Decodable {
        var baseURL: String?
        var apiKey: String?
        var provider: String?
        var models: [String]?
        var smokeModel: String?
        var name: String?

        enum CodingKeys: String, CodingKey {
            case provider, models, name
            case baseURL = "base_url"
            case apiKey = "api_key"
            case smokeModel = "smoke_model"
        }
    }

    struct Options: Decodable {
        var concurrency: Int?
        var confirmDelayS: Int?
        var retryWindowS: Int?
        var maxAttempts: Int?
        var dryRun: Bool?
        var ratePerS: Int?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case concurrency
            case confirmDelayS = "confirm_delay_s"
            case retryWindowS = "retry_window_s"
            case maxAttempts = "max_attempts"
            case dryRun = "dry_run"
            case ratePerS = "rate_per_s"
        }

        /// Options of a pasted list come from the query (`?confirm_delay_s=0&dry_run=true`); nil when none given.
        init?(query: Hummingbird.Parameters) throws {
            guard CodingKeys.allCases.contains(where: { query[Substring($0.rawValue)] != nil }) else { return nil }
            func int(_ key: CodingKeys) throws -> Int? {
                guard let raw = query[Substring(key.rawValue)] else { return nil }
                guard let value = Int(raw) else { throw Problem(.badRequest, "\(key.rawValue) must be an integer") }
                return value
            }
            concurrency = try int(.concurrency)
            confirmDelayS = try int(.confirmDelayS)
            retryWindowS = try int(.retryWindowS)
            maxAttempts = try int(.maxAttempts)
            ratePerS = try int(.ratePerS)
            dryRun = query[Substring(CodingKeys.dryRun.rawValue)].map { $0 == "true" || $0 == "1" }
        }
    }

    var items: [Item]
    var options: Options?

    static let maxItems = 10_000

    /// Parses by content type: `text/plain` is the pasted list, anything else JSON.
    static func parse(_ body: ByteBuffer, contentType: String?) throws -> ImportInput {
        if contentType?.lowercased().hasPrefix("text/plain") == true {
            return ImportInput(items: try parseText(String(buffer: body)), options: nil)
        }
        do {
            return try JSONDecoder().decode(ImportInput.self, from: Data(buffer: body))
        } catch let error as DecodingError {
            throw Problem.from(error)
        }
    }

    static func parseText(_ text: String) throws -> [Item] {
        var items: [Item] = []
        var errors: [Problem.FieldError] = []
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
            if fields.count > 3 {
                errors.append(.init(index: items.count, field: "line", message: "expected `base_url api_key [provider]`, found \(fields.count) fields"))
            }
            items.append(Item(baseURL: fields.first, apiKey: fields.count > 1 ? fields[1] : nil,
                              provider: fields.count > 2 ? fields[2] : nil))
        }
        guard errors.isEmpty else { throw Problem(.unprocessableContent, "\(errors.count) bad line(s)", errors: errors) }
        return items
    }

    /// Checks every item and option; throws one 422 naming each problem, else returns the runnable form.
    func validated(catalog: ProviderCatalog, allowPrivate: Bool) throws -> (items: [Item], options: ImportOptions) {
        var errors: [Problem.FieldError] = []
        if items.isEmpty { errors.append(.init(index: nil, field: "items", message: "no items")) }
        if items.count > Self.maxItems { errors.append(.init(index: nil, field: "items", message: "at most \(Self.maxItems) items per run")) }
        var options = ImportOptions()
        let o = self.options
        func bounded(_ value: Int?, _ field: String, _ range: ClosedRange<Int>, _ set: (Int) -> Void) {
            guard let value else { return }
            if range.contains(value) { set(value) } else {
                errors.append(.init(index: nil, field: "options.\(field)", message: "must be \(range.lowerBound) to \(range.upperBound)"))
            }
        }
        bounded(o?.concurrency, "concurrency", 1...64) { options.concurrency = $0 }
        bounded(o?.confirmDelayS, "confirm_delay_s", 0...86_400) { options.confirmDelayS = $0 }
        bounded(o?.retryWindowS, "retry_window_s", 0...604_800) { options.retryWindowS = $0 }
        bounded(o?.maxAttempts, "max_attempts", 1...50) { options.maxAttempts = $0 }
        bounded(o?.ratePerS, "rate_per_s", 0...10_000) { options.ratePerS = $0 }
        options.dryRun = o?.dryRun ?? false

        var seen: [String: Int] = [:]
        var out: [Item] = []
        for (index, raw) in items.enumerated() {
            var item = raw
            let known = item.provider.flatMap { catalog.providers[$0.lowercased()] }
            if let known {
                item.provider = known.name
                if item.baseURL?.isEmpty ?? true { item.baseURL = known.defaultBaseURL }
            }
            let problem = { (field: String, message: String) in errors.append(.init(index: index, field: field, message: message)) }
            guard let key = item.apiKey?.trimmingCharacters(in: .whitespaces), !key.isEmpty else {
                problem("api_key", "missing key")
                continue
            }
            guard UpstreamText.isHeaderSafe(key) else {
                problem("api_key", "key must be printable ASCII without spaces or control characters")
                continue
            }
            item.apiKey = key
            guard let base = item.baseURL?.trimmingCharacters(in: .whitespaces), !base.isEmpty else {
                problem("base_url", "missing base_url (or a catalog provider to take it from)")
                continue
            }
            guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
                problem("base_url", "invalid URL")
                continue
            }
            guard scheme == "http" || scheme == "https" else {
                problem("base_url", "unsupported scheme \(scheme) (http or https)")
                continue
            }
            if url.query != nil || url.user != nil {
                problem("base_url", "a base URL carries no query or credentials")
                continue
            }
            if !allowPrivate && AddressPolicy.isPrivate(host: host) {
                problem("base_url", "\(host) is a private or loopback address (the daemon refuses those without --allow-private-upstreams)")
                continue
            }
            if let models = item.models, models.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                problem("models", "model names must not be empty")
                continue
            }
            item.baseURL = base
            let identity = ReusePolicy.canonicalBase(base) + "\n" + Fingerprint.sha256Hex(key)
            if let first = seen[identity] {
                problem("api_key", "the same base_url and api_key as item \(first)")
                continue
            }
            seen[identity] = index
            out.append(item)
        }
        guard errors.isEmpty else {
            throw Problem(.unprocessableContent, "\(errors.count) problem(s) in the import request; nothing was stored", errors: errors)
        }
        return (out, options)
    }
}
