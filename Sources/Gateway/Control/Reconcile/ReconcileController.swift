import Foundation
import Hummingbird
import Scheduler
import Store

/// `/api/reconcile/runs`: start a reconcile (`{dry_run}` → 202 with the run id), list runs, show one with its
/// progress and per-channel results.
struct ReconcileController {
    let runs: ReconcileRepository

    func register(on group: RouterGroup<GatewayContext>) {
        group.post("reconcile/runs", use: create)
        group.get("reconcile/runs", use: list)
        group.get("reconcile/runs/:run", use: show)
    }

    struct CreateInput: Decodable {
        var dryRun: Bool?
        enum CodingKeys: String, CodingKey { case dryRun = "dry_run" }
    }

    @Sendable func create(_ request: Request, context: GatewayContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 64 << 10)
        var dryRun = false
        if body.readableBytes > 0 {
            do { dryRun = try JSONDecoder().decode(CreateInput.self, from: Data(buffer: body)).dryRun ?? false } catch {
                throw Problem(.badRequest, "body must be a JSON object like {\"dry_run\": true}")
            }
        }
        let run = try await runs.create(dryRun: dryRun)
        var response = try json(ReconcileRunView(run), status: .accepted)
        response.headers[.location] = ReconcileRunView.link(run.id)
        return response
    }

    @Sendable func list(_ request: Request, context: GatewayContext) async throws -> Response {
        let page = try PageRequest(request, cursorRequired: false)
        let rows = try await runs.list(before: try runCursor(request), limit: page.limit)
        let pageRows = Array(rows.prefix(page.limit))
        var views: [ReconcileRunView] = []
        for run in pageRows {
            let counts = try await runs.counts(run.id)
            views.append(ReconcileRunView(run, drifts: counts.drifts, pending: counts.pending))
        }
        let next = rows.count > page.limit ? pageRows.last.map { "\($0.createdAt):\($0.id)" } : nil
        return try json(PageView(data: views, nextCursor: next))
    }

    @Sendable func show(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = try context.parameters.require("run")
        guard let run = try await runs.run(id) else { throw Problem(.notFound, "reconcile run \(id) not found") }
        let counts = try await runs.counts(run.id)
        let results = try await runs.results(run.id)
        return try json(ReconcileRunView(run, drifts: counts.drifts, pending: counts.pending, results: results))
    }
}
