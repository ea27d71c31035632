import Synchronization

/// The mock's mutable script and counters, shared by every connection.
public final class MockScript: Sendable {
    private struct State {
        var rules: [(rule: FaultRule, used: Int)] = []
        var requests: [String: Int] = [:]
    }
    private let state = Mutex(State())
    /// The models `/v1/models` lists (before `missing_model` faults).
    public let models: [String]
    /// How answers are written unless a fault says otherwise.
    public let style: MockStyle

    public init(models: [String] = MockScript.defaultModels, rules: [FaultRule] = [], style: MockStyle = .compact) {
        self.models = models
        self.style = style
        state.withLock { $0.rules = rules.map { ($0, 0) } }
    }

    public static let defaultModels = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "claude-3-5-sonnet-20241022"]

    public func replace(_ rules: [FaultRule]) { state.withLock { $0.rules = rules.map { ($0, 0) } } }

    public func add(_ rule: FaultRule) { state.withLock { $0.rules.append((rule, 0)) } }

    /// The first rule matching key and model that still applies; consumes one of its `times`.
    func fault(key: String?, model: String?, consume: Bool = true) -> Fault? {
        state.withLock { s in
            for index in s.rules.indices where s.rules[index].rule.matches(key: key, model: model) {
                let rule = s.rules[index].rule
                if let times = rule.fault.times, s.rules[index].used >= times { continue }
                if consume { s.rules[index].used += 1 }
                return rule.fault
            }
            return nil
        }
    }

    /// Models hidden by a `missing_model` fault for this key (or for anyone).
    func hiddenModels(key: String?) -> Set<String> {
        state.withLock { s in
            Set(s.rules.filter { $0.rule.fault.missingModel == true && ($0.rule.key == nil || $0.rule.key == key) }
                .compactMap(\.rule.model))
        }
    }

    func count(_ label: String) { state.withLock { $0.requests[label, default: 0] += 1 } }

    /// Requests seen, by "METHOD path key=… model=…".
    public var requests: [String: Int] { state.withLock { $0.requests } }

    /// How many requests reached `path` (any key, any model).
    public func requestCount(path: String) -> Int {
        state.withLock { $0.requests.filter { $0.key.contains(" \(path) ") }.values.reduce(0, +) }
    }
}
