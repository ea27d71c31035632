import Foundation
import GatewayFixtures
import HummingbirdTesting
import Testing
import TestSupport

/// `/api/artifacts`: list newest first (by kind too), one summary as written, and its verification against the kind's
/// schema; nothing outside the artifacts folder is reachable.
@Suite struct ArtifactsAPITests {
    @Test func artifactsAreListedShownAndVerified() async throws {
        let f = try await RelayFixture(.sqlite)
        let root = f.dir + "/artifacts"
        let manager = FileManager.default
        func write(_ path: String, _ text: String) throws {
            let url = URL(fileURLWithPath: root + "/" + path)
            try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        try write("schema/demo.schema.json", #"{"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}"#)
        try write("demo/20261201T000000Z_1/summary.json", #"{"n": 1}"#)
        try write("demo/20261202T000000Z_2/summary.json", #"{"n": "two"}"#)
        try write("other/20261203T000000Z_3/summary.json", #"{"x": 3}"#)
        try await f.test { client in
            let all = try await f.api(client, .get, "/api/artifacts", expect: .ok)
            let names = (all["data"] as? [[String: Any]])?.map { "\($0["kind"]!)/\($0["name"]!)" }
            #expect(names == ["other/20261203T000000Z_3", "demo/20261202T000000Z_2", "demo/20261201T000000Z_1"], "newest first")
            let demo = try await f.api(client, .get, "/api/artifacts?kind=demo&limit=1", expect: .ok)
            #expect((demo["data"] as? [[String: Any]])?.count == 1 && demo["next_cursor"] as? String == "1")
            let shown = try await f.api(client, .get, "/api/artifacts/demo/20261201T000000Z_1", expect: .ok)
            #expect(shown["n"] as? Int == 1)
            let valid = try await f.api(client, .get, "/api/artifacts/demo/20261201T000000Z_1/verify", expect: .ok)
            #expect(valid["valid"] as? Bool == true && (valid["problems"] as? [String])?.isEmpty == true)
            let invalid = try await f.api(client, .get, "/api/artifacts/demo/20261202T000000Z_2/verify", expect: .ok)
            #expect(invalid["valid"] as? Bool == false && (invalid["problems"] as? [String])?.first?.contains("$.n") == true, "\(invalid)")
            // A kind without a schema is a clear 422; names that leave the folder, hidden ones and the schema folder are 404.
            try await f.api(client, .get, "/api/artifacts/other/20261203T000000Z_3/verify", expect: .unprocessableContent)
            for path in ["/api/artifacts/demo/..%2F..%2Fetc", "/api/artifacts/../demo", "/api/artifacts/schema/demo.schema.json",
                         "/api/artifacts/demo/.hidden", "/api/artifacts/demo/20991231T000000Z_9"] {
                let response = try await client.execute(uri: path, method: .get, headers: RelayFixture.admin)
                #expect(response.status == .notFound, "\(path)")
            }
        }
    }
}
