import Artifacts
import Foundation
import HTTPTypes
import Hummingbird
import Probe
import Scheduler
import Store

/// `/api/batch-import/runs`: start a run (JSON or pasted text), watch it (state, items with trails, an SSE
/// event stream resumable with `Last-Event-ID`, the artifact), cancel it, roll it back.
struct ImportController {
    let runs: ImportRepository
    let secrets: SecretBox
    let catalog: ProviderCatalog
    let artifacts: ArtifactWriter
    let state: GatewayState
    let allowPrivate: Bool
    let maxBodyBytes: Int

    var clock: any WallClock { runs.clock }

    func register(on group: RouterGroup<GatewayContext>) {
        group.post("batch-import/runs", use: create)
        group.get("batch-import/runs", use: list)
        group.get("batch-import/runs/:run", use: show)
        group.get("batch-import/runs/:run/items", use: items)
        group.get("batch-import/runs/:run/events", use: events)
        group.get("batch-import/runs/:run/artifact", use: artifact)
        group.post("batch-import/runs/:run/cancel", use: cancel)
        group.post("batch-import/runs/:run/rollback", use: rollback)
    }

    @Sendable func create(_ request: Request, context: GatewayContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: maxBodyBytes)
        let (contentType, query) = (request.headers[.contentType], request.uri.queryParameters)
        let idempotencyKey = request.headers[HTTPField.Name("Idempotency-Key")!]
        if let idempotencyKey, idempotencyKey.isEmpty || idempotencyKey.count > 200 {
            throw Problem(.badRequest, "Idempotency-Key must be 1 to 200 characters")
        }
        // Parsing, checking and sealing a thousand items is tens of milliseconds of CPU: on a thread of its own,
        // not on the event loop whose other connections (relayed requests among them) would wait for all of it.
        let (run, stored) = try await GatewayApp.offEventLoop { [self] in
            try prepare(body, contentType: contentType, query: query, idempotencyKey: idempotencyKey)
        }
        let (saved, created) = try await runs.create(run, items: stored)
        var response = try json(ImportCreatedView(runId: saved.id, state: saved.state.rawValue, items: saved.total,
                                                  links: ImportRunView.links(saved.id)), status: .accepted)
        response.headers[.location] = "/api/batch-import/runs/\(saved.id)"
        if !created { response.headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
        return response
    }

    /// A new run and its items from a request's body: parsed, checked, keys sealed, its digest taken. Hands the
    /// CPU over between items (`CPUYield`), so the gateway's threads keep theirs.
    func prepare(_ body: ByteBuffer, contentType: String?, query: Hummingbird.Parameters, idempotencyKey: String?) throws -> (ImportRun, [ImportItem]) {
        var input = try ImportInput.parse(body, contentType: contentType)
        if input.options == nil { input.options = try ImportInput.Options(query: query) }
        let (items, options) = try input.validated(catalog: catalog, allowPrivate: allowPrivate)
        let now = clock.nowMillis()
        let id = ImportRun.newID()
        var pacer = CPUYield()
        var stored: [ImportItem] = []
        var canonical: [String] = []
        for (index, item) in items.enumerated() {
            stored.append(ImportItem(
                runId: id, index: index, baseURL: item.baseURL!, apiKeySealed: try secrets.seal(item.apiKey!),
                keyFingerprint: Fingerprint.of(item.apiKey!), provider: item.provider, requestedModels: item.models,
                smokeModel: item.smokeModel, name: item.name, now: now))
            // What the request asks for, not its bytes: a retry that re-serialises the same list is the same request.
            canonical.append([ReusePolicy.canonicalBase(item.baseURL!), Fingerprint.sha256Hex(item.apiKey!), item.provider ?? "",
                              (item.models ?? []).joined(separator: ","), item.smokeModel ?? "", item.name ?? ""].joined(separator: "|"))
            pacer.ifDue()
        }
        let search = Set(stored.flatMap { [$0.host.lowercased(), $0.provider?.lowercased() ?? ""] }).sorted().joined(separator: " ")
        let digest = Fingerprint.sha256Hex(canonical.joined(separator: "\n") + "\n" + String(decoding: try JSONEncoder.sortedKeys.encode(options), as: UTF8.self))
        let run = ImportRun(id: id, options: options, idempotencyKey: idempotencyKey, requestDigest: digest,
                            total: stored.count, search: search, now: now)
        return (run, stored)
    }

    @Sendable func list(_ request: Request, context: GatewayContext) async throws -> Response {
        let query = request.uri.queryParameters
        let page = try PageRequest(request, cursorRequired: false)
        var stateFilter: ImportRun.State?
        if let raw = query["state"] {
            guard let value = ImportRun.State(rawValue: String(raw)) else {
                throw Problem(.badRequest, "state must be one of \(ImportRun.State.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            stateFilter = value
        }
        let rows = try await runs.list(state: stateFilter, q: query["q"].map(String.init), before: try runCursor(request), limit: page.limit)
        let pageRows = Array(rows.prefix(page.limit))
        var views: [ImportRunView] = []
        for run in pageRows {
            let counts = try await runs.counts(run.id)
            views.append(ImportRunView(run, states: counts.states, outcomes: counts.outcomes))
        }
        let next = rows.count > page.limit ? pageRows.last.map { "\($0.createdAt):\($0.id)" } : nil
        return try json(PageView(data: views, nextCursor: next))
    }

    @Sendable func show(_ request: Request, context: GatewayContext) async throws -> Response {
        let run = try await fetch(context)
        let counts = try await runs.counts(run.id)
        return try json(ImportRunView(run, states: counts.states, outcomes: counts.outcomes))
    }

    @Sendable func items(_ request: Request, context: GatewayContext) async throws -> Response {
        let run = try await fetch(context)
        let page = try PageRequest(request, cursorRequired: false)
        var from = 0
        if let raw = request.uri.queryParameters["cursor"] {
            guard let value = Int(raw), value >= 0 else { throw Problem(.badRequest, "invalid cursor") }
            from = value
        }
        let rows = try await runs.items(run.id, from: from, limit: page.limit + 1)
        let pageRows = Array(rows.prefix(page.limit))
        let next = rows.count > page.limit ? pageRows.last.map { String($0.index + 1) } : nil
        return try json(PageView(data: pageRows.map(ImportItemView.init), nextCursor: next))
    }

    @Sendable func artifact(_ request: Request, context: GatewayContext) async throws -> Response {
        let run = try await fetch(context)
        guard let path = run.artifactPath else {
            throw Problem(.notFound, "run \(run.id) is \(run.state.rawValue); its artifact is written when it ends")
        }
        guard let data = try await GatewayApp.offEventLoop({ ArtifactReader.summaryData(at: path) }) else {
            throw Problem(.gone, "the artifact of run \(run.id) is no longer at \(path)")
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    @Sendable func cancel(_ request: Request, context: GatewayContext) async throws -> Response {
        let run = try await fetch(context)
        guard try await runs.cancel(run.id) else { throw Problem(.conflict, "run \(run.id) already ended (\(run.state.rawValue))") }
        try await state.reload()
        let updated = try await fetch(context)
        let counts = try await runs.counts(run.id)
        return try json(ImportRunView(updated, states: counts.states, outcomes: counts.outcomes), status: .accepted)
    }

    struct RollbackInput: Decodable {
        var dryRun: Bool?
        enum CodingKeys: String, CodingKey { case dryRun = "dry_run" }
    }

    @Sendable func rollback(_ request: Request, context: GatewayContext) async throws -> Response {
        let run = try await fetch(context)
        var request = request
        let body = try await request.collectBody(upTo: 64 << 10)
        var dryRun = request.uri.queryParameters["dry_run"].map { $0 == "true" || $0 == "1" } ?? false
        if body.readableBytes > 0 {
            do { dryRun = try JSONDecoder().decode(RollbackInput.self, from: Data(buffer: body)).dryRun ?? dryRun } catch let error as DecodingError {
                throw Problem.from(error)
            }
        }
        let now = clock.nowMillis()
        let entries = try await runs.rollback(run.id, dryRun: dryRun)
        let summary = RollbackSummary(runId: run.id, dryRun: dryRun, at: now, entries: entries)
        if !dryRun {
            try await state.reload()
            if summary.rolledBack > 0 || summary.conflicts > 0 {
                let artifacts = artifacts
                _ = try await GatewayApp.offEventLoop {
                    try artifacts.write(kind: RollbackSummary.kind, id: "\(run.id)-\(now)", summary: summary)
                }
            }
        }
        if summary.rolledBack == 0 && summary.conflicts > 0 {
            throw Problem(.conflict, "nothing could be rolled back: \(summary.conflicts) channel(s) changed since run \(run.id)",
                          type: "conflict")
        }
        return try json(summary)
    }

    private func fetch(_ context: GatewayContext) async throws -> ImportRun {
        let id = try context.parameters.require("run")
        guard let run = try await runs.run(id) else { throw Problem(.notFound, "run \(id) not found") }
        return run
    }
}
