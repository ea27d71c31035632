import Foundation
import Logging

/// The handlers a worker pool can run, by kind.
public struct JobRegistry: Sendable {
    private var handlers: [String: any JobHandler] = [:]

    public init(_ handlers: [any JobHandler] = []) {
        for handler in handlers { register(handler) }
    }

    public mutating func register(_ handler: any JobHandler) {
        handlers[handler.kind] = handler
    }

    public func handler(for kind: String) -> (any JobHandler)? { handlers[kind] }

    public var kinds: [String] { handlers.keys.sorted() }
}
