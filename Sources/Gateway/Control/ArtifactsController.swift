import Artifacts
import Foundation
import Hummingbird
import NIOCore

/// `/api/artifacts`: the acceptance artifacts under `--artifacts-dir`, newest first, one summary, and its verification
/// (what `switchyard artifacts list|show|verify` does, over HTTP for the console and scripts).
struct ArtifactsController {
    let reader: ArtifactReader
    let verifier: ArtifactVerifier

    func register(on group: RouterGroup<GatewayContext>) {
        group.get("artifacts", use: list)
        group.get("artifacts/:kind/:name", use: show)
        group.get("artifacts/:kind/:name/verify", use: verify)
    }

    struct EntryView: Encodable {
        let kind: String
        let name: String
        let path: String
    }

    /// `?kind=&limit=&cursor=`: newest first (folder names start with their UTC stamp); the cursor is an offset.
    @Sendable func list(_ request: Request, context: GatewayContext) async throws -> Response {
        let page = try PageRequest(request, defaultLimit: 100, cursorRequired: false)
        let query = request.uri.queryParameters
        var from = 0
        if let raw = query["cursor"] {
            guard let value = Int(raw), value >= 0 else { throw Problem(.badRequest, "invalid cursor") }
            from = value
        }
        let kind = query["kind"].map(String.init)
        let reader = reader
        let entries = try await GatewayApp.offEventLoop {
            reader.all(kind: kind).sorted { ($0.folder.lastPathComponent, $0.kind) > ($1.folder.lastPathComponent, $1.kind) }
        }
        let slice = entries.dropFirst(from).prefix(page.limit)
        let next = from + slice.count < entries.count ? String(from + slice.count) : nil
        return try json(PageView(data: slice.map { EntryView(kind: $0.kind, name: $0.folder.lastPathComponent, path: $0.summary.path) },
                                 nextCursor: next))
    }

    /// The summary.json of `<kind>/<name>`, as written.
    @Sendable func show(_ request: Request, context: GatewayContext) async throws -> Response {
        let (_, file) = try summaryFile(context)
        guard let data = try await GatewayApp.offEventLoop({ FileManager.default.contents(atPath: file.path) }) else {
            throw Problem(.notFound, "no summary.json in that artifact")
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    struct VerifyView: Encodable {
        let kind: String
        let name: String
        let valid: Bool
        let problems: [String]
    }

    /// The summary checked against its kind's JSON Schema (and an import's counts against its items).
    @Sendable func verify(_ request: Request, context: GatewayContext) async throws -> Response {
        let (kind, file) = try summaryFile(context)
        let verifier = verifier
        let problems = try await GatewayApp.offEventLoop { () throws -> [String] in
            guard let data = FileManager.default.contents(atPath: file.path) else { throw Problem(.notFound, "no summary.json in that artifact") }
            do { return try verifier.problems(kind: kind, summary: data) } catch let error as ArtifactError {
                throw Problem(.unprocessableContent, "\(error)")
            }
        }
        return try json(VerifyView(kind: kind, name: file.deletingLastPathComponent().lastPathComponent, valid: problems.isEmpty, problems: problems))
    }

    /// `<root>/<kind>/<name>/summary.json` for plain names only (no `/`, `..` or hidden folders), when the folder exists.
    private func summaryFile(_ context: GatewayContext) throws -> (kind: String, file: URL) {
        let kind = context.parameters.get("kind") ?? "", name = context.parameters.get("name") ?? ""
        for part in [kind, name] where part.isEmpty || part.hasPrefix(".") || part.contains("/") || part == "schema" {
            throw Problem(.notFound, "no such artifact")
        }
        let folder = reader.root.appendingPathComponent(kind).appendingPathComponent(name)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Problem(.notFound, "no artifact \(kind)/\(name)")
        }
        return (kind, folder.appendingPathComponent("summary.json"))
    }
}
