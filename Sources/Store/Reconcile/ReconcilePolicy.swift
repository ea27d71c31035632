import Foundation

/// What a reconcile learned from a channel's upstream (no writes; keys never in it).
public struct ReconcileObservation: Sendable, Equatable {
    public enum Reach: String, Sendable, Equatable {
        /// Models listed and the smoke call answered.
        case ok
        /// 401 or 403: the key is not (or no longer) accepted.
        case authFailed
        /// No usable answer: connection refused, timeout, 429, 5xx or not an OpenAI-style API.
        case unreachable
    }

    public var reach: Reach
    /// Client-facing model name (the catalog's) → the upstream's own spelling, as listed now.
    public var listed: [String: String]
    /// The measured capability profile; nil when not measured (Anthropic-type channels, or no answer).
    public var capabilities: ChannelCapabilities?
    /// Whether the smoke call answered: only a channel that passes is re-enabled.
    public var passes: Bool
    public var detail: String?

    public init(reach: Reach, listed: [String: String] = [:], capabilities: ChannelCapabilities? = nil, passes: Bool = true,
                detail: String? = nil) {
        self.reach = reach
        self.listed = listed
        self.capabilities = capabilities
        self.passes = passes
        self.detail = detail
    }
}

/// Decides a channel's drift from an observation and computes the channel as the fix leaves it. Pure.
///
/// - An operator's `disabled` channel is reported (`disabled`) and never probed or changed.
/// - `auth_failed` auto-disables an enabled channel at once: a rejected key does not heal by waiting.
/// - `unreachable` auto-disables an enabled channel only on the `unreachableAfter`-th consecutive reconcile
///   that could not reach it: a reconcile every 15 minutes that catches one restart or blip must not take a
///   channel out of routing (the gateway's own failure streak already does that within seconds for real traffic).
/// - An `auto_disabled` channel that passes is `re_enabled`; models and capabilities are patched in the same fix.
/// - A `confirming` channel belongs to its import: drift is reported, its status is never changed here.
public enum ReconcilePolicy {
    public struct Outcome: Sendable, Equatable {
        public var drift: Drift
        /// The channel as the fix leaves it (equal to the input when nothing changes).
        public var after: RelayChannel
        public var detail: String?
        public var changed: Bool
    }

    /// `unreachableStreak` counts this run: 1 when the previous applied run reached the channel.
    public static func decide(_ channel: RelayChannel, _ observation: ReconcileObservation?, unreachableStreak: Int,
                              unreachableAfter: Int, now: Int64) -> Outcome {
        var after = channel
        guard channel.status != .disabled, let observation else {
            return Outcome(drift: .disabled, after: channel, detail: "disabled by operator; not checked", changed: false)
        }
        let detail = observation.detail.map { ": \($0)" } ?? ""
        switch observation.reach {
        case .unreachable:
            var text = "unreachable \(unreachableStreak) time(s) in a row (auto-disabled at \(unreachableAfter))\(detail)"
            if channel.status == .enabled && unreachableStreak >= unreachableAfter {
                after.status = .autoDisabled
                after.statusReason = "reconcile: unreachable \(unreachableStreak) times in a row\(detail)"
                text = "auto-disabled: " + text
            }
            return finish(channel, after, .unreachable, text, now)
        case .authFailed:
            var text = "the upstream rejected the key\(detail)"
            if channel.status == .enabled {
                after.status = .autoDisabled
                after.statusReason = "reconcile: the upstream rejected the key\(detail)"
                text = "auto-disabled: " + text
            }
            return finish(channel, after, .authFailed, text, now)
        case .ok:
            break
        }
        var found: [Drift] = []
        var notes: [String] = observation.passes ? [] : ["smoke call failed" + detail]
        if channel.status == .autoDisabled && observation.passes {
            after.status = .enabled
            after.statusReason = nil
            after.failureStreak = 0
            found.append(.reEnabled)
            notes.append("passes again: re-enabled")
        }
        let patch = ModelPatch(channel, listed: observation.listed)
        if !patch.removed.isEmpty {
            found.append(.modelsRemoved)
            notes.append("removed: " + patch.removed.joined(separator: ", "))
        }
        if !patch.added.isEmpty {
            found.append(.modelsAdded)
            notes.append("added: " + patch.added.joined(separator: ", "))
        }
        after.models = patch.models
        after.modelMapping = patch.mapping
        if var measured = observation.capabilities {
            let stored = channel.capabilities ?? ChannelCapabilities(chat: true, streaming: true, tools: true, responses: true,
                                                                     anthropicMessages: true)
            measured.model = measured.model ?? stored.model
            if !sameProfile(stored, measured) {
                found.append(.capabilityChanged)
                notes.append("capabilities: " + describe(stored, measured))
                after.capabilities = measured
            }
        }
        let drift = Drift.precedence.first { found.contains($0) } ?? .inSync
        return finish(channel, after, drift, notes.isEmpty ? nil : notes.joined(separator: "; "), now)
    }

    private static func finish(_ before: RelayChannel, _ after: RelayChannel, _ drift: Drift, _ detail: String?, _ now: Int64) -> Outcome {
        var after = after
        // A confirming channel's status belongs to its import.
        if before.status == .confirming {
            after.status = before.status
            after.statusReason = before.statusReason
            after.failureStreak = before.failureStreak
        }
        let changed = ChannelSnapshot(after) != ChannelSnapshot(before)
        if changed { after.updatedAt = now } else { after = before }
        return Outcome(drift: drift, after: after, detail: detail, changed: changed)
    }

    private static func sameProfile(_ a: ChannelCapabilities, _ b: ChannelCapabilities) -> Bool {
        (a.chat, a.streaming, a.tools, a.responses, a.anthropicMessages) == (b.chat, b.streaming, b.tools, b.responses, b.anthropicMessages)
    }

    private static func describe(_ a: ChannelCapabilities, _ b: ChannelCapabilities) -> String {
        let pairs: [(String, Bool, Bool)] = [("chat", a.chat, b.chat), ("streaming", a.streaming, b.streaming), ("tools", a.tools, b.tools),
                                             ("responses", a.responses, b.responses),
                                             ("anthropic_messages", a.anthropicMessages, b.anthropicMessages)]
        return pairs.filter { $0.1 != $0.2 }.map { "\($0.0) \($0.1) → \($0.2)" }.joined(separator: ", ")
    }
}
