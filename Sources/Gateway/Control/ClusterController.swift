import Foundation
import Hummingbird
import Store

/// `GET /api/cluster`: the live processes sharing the database (those that heartbeated within the dead line),
/// oldest first, and which of them answered.
struct ClusterController {
    let cluster: ClusterMembership

    struct MemberView: Encodable {
        var process: ClusterProcess
        var isThis: Bool

        enum CodingKeys: String, CodingKey { case isThis = "this" }

        func encode(to encoder: any Encoder) throws {
            try process.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(isThis, forKey: .isThis)
        }
    }

    struct ListView: Encodable {
        var data: [MemberView]
        var answeredBy: String
        var deadAfterMs: Int64

        enum CodingKeys: String, CodingKey {
            case data
            case answeredBy = "answered_by"
            case deadAfterMs = "dead_after_ms"
        }
    }

    func register(on group: RouterGroup<GatewayContext>) {
        group.get("cluster", use: list)
    }

    @Sendable func list(_ request: Request, context: GatewayContext) async throws -> Response {
        let this = cluster.current.id
        let members = try await cluster.members().map { MemberView(process: $0, isThis: $0.id == this) }
        return try json(ListView(data: members, answeredBy: this, deadAfterMs: cluster.deadAfterMs))
    }
}
