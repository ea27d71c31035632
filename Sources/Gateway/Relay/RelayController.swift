import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Scheduler
import Store
import Wire

/// The data plane: authenticates the key, picks channels, relays to the upstream (failing over before the
/// first byte reaches the client), streams the answer back and hands one record to the writer.
struct RelayController: Sendable {
    let state: GatewayState
    let transport: any UpstreamTransport
    let writer: RecordWriter
    let options: RelayOptions
    let clock: any WallClock
    /// Whether bodies are captured (enabled and a payload key configured).
    let capture: Bool
    /// The admin token: with it, `x-switchyard-channel` pins a request to one channel (import confirmation).
    let adminToken: [UInt8]

    func register(on router: Router<GatewayContext>) {
        router.post("v1/chat/completions") { request, context in try await relay(request, context, .chat) }
        router.post("v1/responses") { request, context in try await relay(request, context, .responses) }
        router.post("v1/embeddings") { request, context in try await relay(request, context, .embeddings) }
        router.post("anthropic/v1/messages") { request, context in try await relay(request, context, .messages) }
        router.get("v1/models") { request, context in try await models(request, context) }
    }

    func models(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let models: [String]
        if let pin = try pinnedChannel(request, .openai) {
            let (channel, _) = try await pinnedTarget(pin)
            models = Set(channel.models + channel.modelMapping.keys).sorted()
        } else {
            let (key, user) = try authenticate(request, .openai)
            try authorize(key, user, model: nil)
            models = state.models().filter { key.models?.contains($0) ?? true }
        }
        let data = models.map { ["id": $0, "object": "model", "created": 0, "owned_by": "switchyard"] as [String: Any] }
        return jsonResponse(.ok, ["object": "list", "data": data])
    }

    // MARK: Relay

    func relay(_ request: Request, _ context: GatewayContext, _ endpoint: RelayEndpoint) async throws -> Response {
        let started = ContinuousClock.now
        let now = clock.nowMillis()
        var trace = Trace(requestId: context.requestId, endpoint: endpoint.clientPath, createdAt: now,
                          expiresAt: now + options.traceRetention.milliseconds)
        do {
            // Answers that could not be billed are not served: with the database away long enough to fill the
            // writer's buffer, requests are refused until it is back.
            if writer.isFull {
                throw RelayError.unavailable("usage cannot be recorded right now (database unavailable); retry shortly")
            }
            let pin = try pinnedChannel(request, endpoint.clientProtocol)
            let (key, user) = try pin == nil ? authenticate(request, endpoint.clientProtocol) : Self.operatorPrincipal
            trace.userId = user.id
            trace.keyId = key.id
            var request = request
            let bytes = try await request.collectBody(upTo: options.maxBodyBytes)
            let probe = try RequestProbe.read(bytes)
            guard let model = probe.model, !model.isEmpty else { throw RelayError.badRequest("missing required field: model") }
            for field in endpoint.requiredFields where !probe.keys.contains(field) {
                throw RelayError.badRequest("missing required field: \(field)")
            }
            trace.model = model
            let stream = probe.stream
            trace.stream = stream
            if pin == nil { try authorize(key, user, model: model) }
            let clientWantsUsage = probe.streamOptions?.includeUsage == true
            // The bytes to forward unchanged when the channel needs no model mapping: for an OpenAI chat stream,
            // `stream_options.include_usage` is spliced in unless the client already has stream_options.
            var forwardable: ByteBuffer? = bytes
            if stream && endpoint == .chat && !clientWantsUsage {
                forwardable = probe.keys.contains("stream_options") ? nil : Self.spliceIncludeUsage(bytes)
            }
            let call = Call(endpoint: endpoint, key: key, model: model, bytes: bytes, forwardable: forwardable, stream: stream,
                            requestBytes: bytes.readableBytes, capturedRequest: capture ? bytes.getSlice(at: bytes.readerIndex, length: min(bytes.readableBytes, options.maxPayloadBytes)) : nil, stripUsage: stream && endpoint == .chat && !clientWantsUsage,
                            anthropicVersion: request.headers[.anthropicVersion], started: started, eventLoop: context.eventLoop, pin: pin)
            return try await attempt(call, trace: &trace)
        } catch {
            let relayError = RelayError.from(error)
            trace.status = Int(relayError.status.code)
            trace.error = relayError.message
            trace.latencyMs = (ContinuousClock.now - started).milliseconds
            writer.submit(RequestRecord(trace: trace, usage: nil, payload: nil))
            throw relayError
        }
    }

    /// What one relayed request needs across attempts.
    struct Call: Sendable {
        let endpoint: RelayEndpoint
        let key: APIKey
        let model: String
        /// The client's body as received.
        let bytes: ByteBuffer
        /// The client's body, ready to send as is when the model needs no mapping.
        let forwardable: ByteBuffer?
        let stream: Bool
        let requestBytes: Int
        /// The request body up to the payload cap, when payloads are captured.
        let capturedRequest: ByteBuffer?
        let stripUsage: Bool
        let anthropicVersion: String?
        let started: ContinuousClock.Instant
        let eventLoop: any EventLoop
        /// The one channel an operator's pinned request may use.
        let pin: Int64?

        /// The body as a dictionary, for the rare requests that must be rewritten (conversion, model mapping).
        func jsonBody() throws -> [String: Any] {
            guard let body = try JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any] else {
                throw RelayError.badRequest("request body must be a JSON object")
            }
            return body
        }

        init(endpoint: RelayEndpoint, key: APIKey, model: String, bytes: ByteBuffer, forwardable: ByteBuffer?, stream: Bool, requestBytes: Int,
             capturedRequest: ByteBuffer?, stripUsage: Bool, anthropicVersion: String?, started: ContinuousClock.Instant,
             eventLoop: any EventLoop, pin: Int64? = nil) {
            self.eventLoop = eventLoop
            self.pin = pin
            self.capturedRequest = capturedRequest
            self.forwardable = forwardable
            self.endpoint = endpoint
            self.key = key
            self.model = model
            self.bytes = bytes
            self.stream = stream
            self.requestBytes = requestBytes
            self.stripUsage = stripUsage
            self.anthropicVersion = anthropicVersion
            self.started = started
        }
    }

    /// `{"stream_options":{"include_usage":true},` + the rest of a JSON object (whose first byte is `{`).
    static func spliceIncludeUsage(_ body: ByteBuffer) -> ByteBuffer? {
        var view = body
        guard let start = view.readableBytesView.firstIndex(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }),
              view.readableBytesView[start] == UInt8(ascii: "{") else { return nil }
        view.moveReaderIndex(to: start + 1)
        let rest = view.readableBytesView.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 })
        var out = ByteBuffer(string: rest == UInt8(ascii: "}") ? #"{"stream_options":{"include_usage":true}"# : #"{"stream_options":{"include_usage":true},"#)
        out.writeBuffer(&view)
        return out
    }

    /// Tries candidates in order; a failure before the client saw a byte moves on to the next one.
    private func attempt(_ call: Call, trace: inout Trace) async throws -> Response {
        // Anthropic clients can use either channel type (OpenAI ones through conversion); OpenAI clients use OpenAI
        // channels; `/responses` and streams skip channels whose capability profile says they cannot.
        let accept = { (channel: RelayChannel) in
            (call.endpoint == .messages || channel.type == .openai)
                && channel.supports(responses: call.endpoint == .responses, stream: call.stream)
        }
        var candidates: [(RelayChannel, String)]
        var known: Bool
        if let pin = call.pin {
            let target = try await pinnedTarget(pin)
            known = target.0.serves(call.model)
            candidates = known && accept(target.0) ? [target] : []
        } else {
            (candidates, known) = state.candidates(for: call.model, limit: options.maxAttempts, where: accept)
        }
        guard known else { throw RelayError.notFound("model \(call.model) does not exist or no channel serves it") }
        guard !candidates.isEmpty else { throw RelayError.unavailable("no channel is available for model \(call.model)") }
        var lastError = "no attempt made"
        for (channel, upstreamKey) in candidates {
            trace.attempts += 1
            trace.channelId = channel.id
            let outcome: AttemptOutcome
            do {
                outcome = try await send(call, channel: channel, upstreamKey: upstreamKey)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                outcome = .failed(describe(error))
            }
            switch outcome {
            case .failed(let reason):
                lastError = "channel \(channel.id!): \(reason)"
                writer.submit(state.channelFailed(channel.id!, reason: reason))
            case .clientError(let status, let body, let contentType):
                // The upstream refused the request itself (400, 422, …): the client's problem, not the channel's.
                trace.status = status
                trace.latencyMs = (ContinuousClock.now - call.started).milliseconds
                trace.error = "upstream refused the request with \(status)"
                writer.submit(RequestRecord(trace: trace, usage: nil, payload: nil))
                return Response(status: .init(code: status), headers: [.contentType: contentType], body: .init(byteBuffer: body))
            case .answered(let response):
                writer.submit(state.channelSucceeded(channel.id!))
                return finish(call, response, channel: channel, trace: trace)
            }
        }
        throw RelayError.badGateway("upstream failed after \(trace.attempts) attempt(s); last: \(lastError)")
    }

    enum AttemptOutcome: Sendable {
        case failed(String)
        case clientError(status: Int, body: ByteBuffer, contentType: String)
        case answered(Answered)
    }

    /// An upstream answer that will reach the client: a complete body, or a stream whose first bytes arrived.
    struct Answered: Sendable {
        var status: Int
        var contentType: String
        var body: ByteBuffer
        var stream: UpstreamBody?
        var meter: UsageMeter
        /// When the first output (or, for whole bodies, the answer) arrived.
        var firstByteAt: ContinuousClock.Instant
        /// Whether the body is SSE that went through the meter's stream path.
        var streamed: Bool
        /// Set when an OpenAI stream is turned into Anthropic events for the client.
        var converter: AnthropicStreamConverter?
    }
}
