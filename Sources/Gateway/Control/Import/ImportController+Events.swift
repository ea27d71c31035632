import Foundation
import HTTPTypes
import Hummingbird
import Scheduler
import Store

extension ImportController {
    /// `GET …/events`: the run's events as server-sent events, oldest first, each with its id; resumable with
    /// `Last-Event-ID` (or `?after=`). Ends after `run.finished`, or at once for a run that ended before.
    @Sendable func events(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = try context.parameters.require("run")
        guard try await runs.run(id) != nil else { throw Problem(.notFound, "run \(id) not found") }
        let resume = request.headers[HTTPField.Name("Last-Event-ID")!] ?? request.uri.queryParameters["after"].map(String.init)
        var after: Int64 = 0
        if let resume {
            guard let value = Int64(resume), value >= 0 else { throw Problem(.badRequest, "Last-Event-ID must be an event id") }
            after = value
        }
        let runs = self.runs
        let start = after
        let body = ResponseBody { writer in
            var last = start
            var idle = ContinuousClock.now
            while !Task.isCancelled {
                let page = try await runs.events(id, after: last, limit: 200)
                for event in page {
                    try await writer.write(try Self.frame(event))
                    last = event.id!
                    if event.type == "run.finished" {
                        try await writer.finish(nil)
                        return
                    }
                }
                if page.isEmpty {
                    // The run ended: its last events (its finish among them) committed with its state, so one more
                    // read sends them; a stream resumed after the finish event ends here too.
                    if let run = try await runs.run(id), run.state.isFinal, run.artifactPath != nil {
                        for event in try await runs.events(id, after: last, limit: 1000) { try await writer.write(try Self.frame(event)) }
                        try await writer.finish(nil)
                        return
                    }
                    if ContinuousClock.now - idle > .seconds(15) {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        idle = ContinuousClock.now
                    }
                    try await Task.sleep(for: .milliseconds(200))
                } else {
                    idle = ContinuousClock.now
                }
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    /// One server-sent event: `id`, `event` (its type) and `data` (the event line as JSON).
    static func frame(_ event: ImportEvent) throws -> ByteBuffer {
        let data = String(decoding: try JSONEncoder.sortedKeys.encode(EventLine(event)), as: UTF8.self)
        return ByteBuffer(string: "id: \(event.id!)\nevent: \(event.type)\ndata: \(data)\n\n")
    }
}
