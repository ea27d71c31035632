import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Probe
import Scheduler
import Store
import Wire

/// Copies an upstream stream to the client as bytes arrive, metering usage on the way, then records it.
struct StreamRelay: Sendable {
    let controller: RelayController
    let call: RelayController.Call
    let answered: RelayController.Answered
    let stream: UpstreamBody
    let channel: RelayChannel
    let trace: Trace

    func run(_ writer: inout any ResponseBodyWriter) async throws {
        var meter = answered.meter
        var converter = answered.converter
        var trace = self.trace
        var clientGone = false
        var upstreamCut = false
        // The first bytes were metered while the attempt waited for output.
        var out = answered.body
        // The total timeout holds whatever the transport (the NIO client also enforces it on its own timer).
        let deadline = call.started + controller.options.totalTimeout
        var captured: ByteBuffer? = call.capturedRequest == nil ? nil : ByteBuffer()
        var truncated = false
        let cap = controller.options.maxPayloadBytes
        while !clientGone {
            if captured != nil && out.readableBytes > 0 {
                let room = cap - captured!.readableBytes
                if out.readableBytes > room { truncated = true }
                if room > 0, var slice = out.getSlice(at: out.readerIndex, length: min(room, out.readableBytes)) { captured!.writeBuffer(&slice) }
            }
            if out.readableBytes > 0 {
                do { try await writer.write(out) } catch { clientGone = true; break }
            }
            let chunk: ByteBuffer?
            do { chunk = try await stream.next() } catch {
                upstreamCut = true
                break
            }
            guard let chunk else { break }
            if ContinuousClock.now >= deadline {
                upstreamCut = true
                break
            }
            out = meter.feed(chunk)
            if converter != nil { out = converter!.feed(chunk) }
        }
        var rest = meter.finish()
        if converter != nil && !upstreamCut { rest = ByteBuffer(string: converter!.finish()) }
        if !clientGone && rest.readableBytes > 0 { try? await writer.write(rest) }
        trace.latencyMs = (ContinuousClock.now - call.started).milliseconds
        if clientGone { trace.status = 499; trace.error = "client closed the stream" }
        if upstreamCut { trace.status = 502; trace.error = "upstream stream cut" }
        controller.record(call, trace: trace, meter: meter, channel: channel, cut: clientGone || upstreamCut,
                          response: captured, responseTruncated: truncated)
        // An upstream cut is passed on as a cut: the client must not mistake a partial answer for a whole one.
        if upstreamCut { throw RelayError.badGateway("upstream stream cut") }
        if !clientGone { try await writer.finish(nil) }
    }
}

extension RelayController {
    /// One attempt against one channel. Returns `.answered` only once the client can be given something.
    func send(_ call: Call, channel: RelayChannel, upstreamKey: String) async throws -> AttemptOutcome {
        // An Anthropic client on an OpenAI channel is converted both ways; everything else passes through.
        let convert = call.endpoint == .messages && channel.type == .openai
        let upstreamModel = channel.upstreamModel(for: call.model)
        let payload: ByteBuffer
        if convert {
            payload = ByteBuffer(bytes: try JSONSerialization.data(
                withJSONObject: AnthropicBridge.chatRequest(try call.jsonBody(), upstreamModel: upstreamModel), options: [.withoutEscapingSlashes]))
        } else if upstreamModel == call.model, let original = call.forwardable {
            // The common case: the client's bytes go upstream as they came (plus stream_options, spliced in).
            payload = original
        } else {
            var body = try call.jsonBody()
            body["model"] = upstreamModel
            if call.stream && call.endpoint == .chat {
                var streamOptions = body["stream_options"] as? [String: Any] ?? [:]
                streamOptions["include_usage"] = true
                body["stream_options"] = streamOptions
            }
            payload = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body, options: [.withoutEscapingSlashes]))
        }
        var headers: [(String, String)] = [("content-type", "application/json"), ("accept", call.stream ? "text/event-stream" : "application/json")]
        switch channel.type {
        case .openai: headers.append(("authorization", "Bearer \(upstreamKey)"))
        case .anthropic:
            headers.append(("x-api-key", upstreamKey))
            headers.append(("anthropic-version", call.anthropicVersion ?? "2023-06-01"))
        }
        let path = convert ? RelayEndpoint.chat.upstreamPath : call.endpoint.upstreamPath
        let request = UpstreamRequest(url: UpstreamText.url(channel.baseURL, path), headers: headers, body: payload,
                                      totalTimeout: options.totalTimeout)
        let response = try await transport.send(request, firstByteTimeout: options.firstByteTimeout, on: call.eventLoop)
        switch response.status {
        case 200..<300:
            break
        case 400, 413, 415, 422:
            var body = try await response.body.collect(upTo: 1 << 20)
            let text = String(buffer: body)
            if text.contains(upstreamKey) { body = ByteBuffer(string: UpstreamText.redact(text, key: upstreamKey)) }
            if convert {
                body = ByteBuffer(string: AnthropicBridge.jsonText(AnthropicBridge.error(fromOpenAI: String(buffer: body), status: response.status)))
            }
            return .clientError(status: response.status, body: body, contentType: convert ? "application/json" : response.contentType ?? "application/json")
        default:
            let body = (try? await response.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
            return .failed("upstream answered \(response.status)\(UpstreamText.redact(Self.errorHint(body), key: upstreamKey))")
        }
        let contentType = response.contentType ?? (call.stream ? "text/event-stream" : "application/json")
        var meter = UsageMeter(format: convert ? .openaiChat : call.endpoint.format, stripUsageChunk: call.stripUsage)
        if call.stream && contentType.hasPrefix("text/event-stream") {
            var converter = convert ? AnthropicStreamConverter(model: call.model) : nil
            // Hold the stream's preamble until the first output (or its end): an upstream that dies before
            // producing anything can still fail over, since the client has not seen a byte.
            var ready = ByteBuffer()
            var ended = false
            while !meter.sawOutput && ready.readableBytes < 64 << 10 {
                guard let chunk = try await response.body.next() else { ended = true; break }
                var out = meter.feed(chunk)
                if converter != nil { out = converter!.feed(chunk) }
                ready.writeBuffer(&out)
            }
            if ended && ready.readableBytes == 0 && !meter.sawOutput { return .failed("stream ended before any data") }
            return .answered(Answered(status: response.status, contentType: "text/event-stream", body: ready,
                                      stream: ended ? nil : response.body, meter: meter, firstByteAt: .now, streamed: true,
                                      converter: converter))
        }
        var whole = try await response.body.collect(upTo: options.maxResponseBytes)
        guard meter.readBody(whole) else { return .failed("upstream answered \(response.status) with a body that is not JSON") }
        if convert, let chat = try? JSONSerialization.jsonObject(with: Data(buffer: whole)) as? [String: Any] {
            whole = ByteBuffer(string: AnthropicBridge.jsonText(AnthropicBridge.message(from: chat, model: call.model)))
        }
        return .answered(Answered(status: response.status, contentType: convert ? "application/json" : contentType, body: whole,
                                  stream: nil, meter: meter, firstByteAt: .now, streamed: false, converter: nil))
    }

    /// Builds the client's response and, when it is done, the request's record.
    func finish(_ call: Call, _ answered: Answered, channel: RelayChannel, trace: Trace) -> Response {
        var trace = trace
        trace.status = answered.status
        let headers: HTTPFields = [.contentType: answered.contentType]
        trace.ttftMs = (answered.firstByteAt - call.started).milliseconds
        guard let stream = answered.stream else {
            var meter = answered.meter
            var body = answered.body
            if answered.streamed {
                var rest = meter.finish()
                if var converter = answered.converter {
                    rest = ByteBuffer(string: converter.finish())
                }
                body.writeBuffer(&rest)
            }
            trace.latencyMs = (ContinuousClock.now - call.started).milliseconds
            record(call, trace: trace, meter: meter, channel: channel, cut: false,
                   response: body.getSlice(at: body.readerIndex, length: min(body.readableBytes, options.maxPayloadBytes)),
                   responseTruncated: body.readableBytes > options.maxPayloadBytes)
            return Response(status: .init(code: answered.status), headers: headers, body: .init(byteBuffer: body))
        }
        let relay = StreamRelay(controller: self, call: call, answered: answered, stream: stream, channel: channel, trace: trace)
        let body = ResponseBody { writer in try await relay.run(&writer) }
        return Response(status: .init(code: answered.status), headers: [.contentType: answered.contentType, .cacheControl: "no-cache"], body: body)
    }

    /// Hands the trace and, when billable, the usage log to the writer.
    /// Billing: no output means no charge; a cut stream is billed for what was delivered.
    func record(_ call: Call, trace: Trace, meter: UsageMeter, channel: RelayChannel, cut: Bool, response: ByteBuffer?,
                responseTruncated: Bool) {
        var trace = trace
        var usage: UsageLog?
        // An operator's pinned request (import confirmation) is traced but bills no one.
        if let userId = trace.userId, let keyId = trace.keyId, meter.sawOutput || (call.endpoint == .embeddings && trace.status < 300) {
            let prompt = meter.promptTokens ?? Int64((call.requestBytes + 3) / 4)
            let completion = meter.completionTokens ?? (cut || call.stream ? meter.outputEvents : 0)
            let cost = state.price(for: call.model)?.cost(promptTokens: prompt, completionTokens: completion) ?? 0
            trace.promptTokens = prompt
            trace.completionTokens = completion
            trace.cost = cost
            usage = UsageLog(requestId: trace.requestId, userId: userId, keyId: keyId, channelId: channel.id,
                             model: call.model, promptTokens: prompt, completionTokens: completion, cost: cost, createdAt: trace.createdAt)
        }
        var payload: CapturedPayload?
        if let request = call.capturedRequest {
            payload = CapturedPayload(
                request: Data(buffer: request), response: response.map { Data(buffer: $0) } ?? Data(),
                requestTruncated: call.requestBytes > request.readableBytes, responseTruncated: responseTruncated,
                expiresAt: trace.createdAt + options.payloadRetention.milliseconds)
        }
        writer.submit(RequestRecord(trace: trace, usage: usage, payload: payload))
    }

    // MARK: Auth

    func authenticate(_ request: Request, _ proto: ClientProtocol) throws -> (APIKey, User) {
        var plain: String?
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") { plain = String(header.dropFirst(7)) }
        if plain == nil, proto == .anthropic { plain = request.headers[.xAPIKey] }
        guard let plain, !plain.isEmpty else {
            throw RelayError.unauthorized(proto == .anthropic ? "missing x-api-key or bearer token" : "missing bearer token")
        }
        guard let found = state.authenticate(plain) else { throw RelayError.unauthorized("invalid API key") }
        return found
    }

    /// The channel an `x-switchyard-channel` header pins, when the bearer is the admin token; nil without the header.
    func pinnedChannel(_ request: Request, _ proto: ClientProtocol) throws -> Int64? {
        guard let raw = request.headers[.xSwitchyardChannel] else { return nil }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
              constantTimeEqual(Array(header.dropFirst(7).utf8), adminToken) else {
            throw RelayError.unauthorized("x-switchyard-channel needs the admin token")
        }
        guard let id = Int64(raw) else { throw RelayError.badRequest("x-switchyard-channel must be a channel id") }
        return id
    }

    /// The pinned channel as the database has it now: pinned requests are rare (import confirmations) and must
    /// see a channel just provisioned or re-keyed, which the periodic reload may not have picked up yet.
    func pinnedTarget(_ id: Int64) async throws -> (RelayChannel, String) {
        try await state.refresh(channelId: id)
        guard let target = state.pinned(id) else { throw RelayError.unavailable("channel \(id) is not available") }
        return target
    }

    /// Who an operator's pinned request runs as: no user, no key, so nothing is billed.
    static let operatorPrincipal = (
        APIKey(userId: 0, name: "operator", keyHash: "", fingerprint: "", models: nil, quota: nil, now: 0),
        User(name: "operator", quota: nil, now: 0))

    func authorize(_ key: APIKey, _ user: User, model: String?) throws {
        guard key.status == "active" else { throw RelayError.forbidden("this API key is disabled") }
        guard user.status == "active" else { throw RelayError.forbidden("this account is disabled") }
        if let model, let allowed = key.models, !allowed.contains(model) {
            throw RelayError.forbidden("this API key may not use model \(model)")
        }
        if let quota = key.quota, state.used(keyId: key.id!, base: key.used) >= quota {
            throw RelayError.quota("this API key has used its quota")
        }
        if let quota = user.quota, user.used >= quota { throw RelayError.quota("this account has used its quota") }
    }

    // MARK: Helpers

    /// The upstream's own error message as ": message" (callers redact keys from it).
    static func errorHint(_ body: String) -> String { UpstreamText.errorMessage(body).map { ": " + $0 } ?? "" }

    func describe(_ error: any Error) -> String {
        switch error {
        case UpstreamFailure.timeout: "timeout waiting for the upstream"
        case UpstreamFailure.connect(let reason): "cannot reach the upstream (\(reason))"
        case UpstreamFailure.tooLarge: "upstream answer too large"
        default: "upstream error (\(String("\(error)".prefix(200))))"
        }
    }
}

func jsonResponse(_ status: HTTPResponse.Status, _ object: Any) -> Response {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
