import GatewayFixtures
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import MockUpstream
import NIOCore
import Probe
import Store
import Testing
import TestSupport

/// `POST /api/batch-import/runs`: both input forms, idempotency, and every bad input (nothing stored).
@Suite struct ImportInputTests {
    @Test(arguments: Engine.allCases) func pastedTextListWithCommentsAndProviders(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        try await f.run { client in
            let text = """
                # pasted from the provider's dashboard
                \(f.mock.baseURL) sk-text-key-00001

                \(f.mock.baseURL)\tsk-text-key-00002  openai
                """
            var headers = ImportFixture.admin
            headers[.contentType] = "text/plain; charset=utf-8"
            let response = try await client.execute(uri: "/api/batch-import/runs?confirm_delay_s=0", method: .post, headers: headers,
                                                    body: ByteBuffer(string: text))
            #expect(response.status == .accepted)
            let body = jsonObject(response)
            #expect(body["items"] as? Int == 2 && body["state"] as? String == "queued")
            #expect((body["links"] as? [String: String])?["events"] == "/api/batch-import/runs/\(body["run_id"] as! String)/events")
            let run = try await f.finished(client, body["run_id"] as! String)
            #expect(run["state"] as? String == "succeeded")
            let items = try await f.api(client, .get, "/api/batch-import/runs/\(body["run_id"] as! String)/items")["data"] as? [[String: Any]]
            #expect(items?.map { $0["provider"] as? String } == [nil, "openai"])
        }
    }

    @Test(arguments: Engine.allCases) func idempotencyKeyReturnsTheSameRun(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        try await f.run { client in
            var headers = ImportFixture.admin
            headers[HTTPField.Name("Idempotency-Key")!] = "paste-2026-11-23-a"
            let body: [String: Any] = ["items": [f.item("sk-idem-key-0001")], "options": ["confirm_delay_s": 0]]
            let first = try await f.api(client, .post, "/api/batch-import/runs", body, headers: headers, expect: .accepted)
            let again = try await client.execute(uri: "/api/batch-import/runs", method: .post, headers: headers,
                                                 body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
            #expect(again.status == .accepted && again.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(jsonObject(again)["run_id"] as? String == first["run_id"] as? String)
            #expect(try await f.count("import_runs") == 1)
            #expect(try await f.count("import_items") == 1)
            // The same key with another request is refused, not silently mapped to the first run.
            let other: [String: Any] = ["items": [f.item("sk-idem-key-0002")]]
            try await f.api(client, .post, "/api/batch-import/runs", other, headers: headers, expect: .conflict)
            #expect(try await f.count("import_runs") == 1)
        }
    }

    @Test(arguments: Engine.allCases) func everyBadInputNamesItsItemAndStoresNothing(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine)
        try await f.run { client in
            let items: [[String: Any]] = [
                ["base_url": "not a url", "api_key": "sk-a"],
                ["base_url": f.mock.baseURL],
                ["base_url": "ftp://example.com", "api_key": "sk-b"],
                ["base_url": f.mock.baseURL, "api_key": "sk-dup"],
                ["base_url": f.mock.baseURL + "/", "api_key": "sk-dup"],
                ["base_url": "https://example.com", "api_key": "sk-c", "models": [""]],
                ["api_key": "sk-no-base"],
                ["base_url": f.mock.baseURL, "api_key": "sk-line\r\nx-injected: 1"],
            ]
            let problem = try await f.api(client, .post, "/api/batch-import/runs", ["items": items], expect: .unprocessableContent)
            let errors = try #require(problem["errors"] as? [[String: Any]])
            let byIndex = Dictionary(grouping: errors) { $0["index"] as? Int ?? -1 }.mapValues { $0.map { $0["message"] as? String ?? "" } }
            #expect(byIndex.keys.sorted() == [0, 1, 2, 4, 5, 6, 7])
            #expect(byIndex[0]?.first == "invalid URL")
            #expect(byIndex[1]?.first == "missing key")
            #expect(byIndex[2]?.first?.contains("unsupported scheme ftp") == true)
            #expect(byIndex[4]?.first == "the same base_url and api_key as item 3")
            #expect(byIndex[6]?.first?.contains("missing base_url") == true)
            #expect(byIndex[7]?.first?.contains("printable ASCII") == true)
            // Options out of range, no items, malformed JSON, wrong types.
            let options = try await f.api(client, .post, "/api/batch-import/runs",
                                          ["items": [f.item("sk-x")], "options": ["concurrency": 0, "max_attempts": 99]],
                                          expect: .unprocessableContent)
            #expect((options["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String }.sorted() == ["options.concurrency", "options.max_attempts"])
            try await f.api(client, .post, "/api/batch-import/runs", ["items": []], expect: .unprocessableContent)
            try await f.api(client, .post, "/api/batch-import/runs", ["items": "x"], expect: .badRequest)
            let malformed = try await client.execute(uri: "/api/batch-import/runs", method: .post, headers: ImportFixture.admin,
                                                     body: ByteBuffer(string: "{\"items\": ["))
            #expect(malformed.status == .badRequest && malformed.headers[.contentType] == "application/problem+json")
            var text = ImportFixture.admin
            text[.contentType] = "text/plain"
            let badLine = try await client.execute(uri: "/api/batch-import/runs", method: .post, headers: text,
                                                   body: ByteBuffer(string: "https://a.example sk-1 openai extra-field\n"))
            #expect(badLine.status == .unprocessableContent)
            try await f.api(client, .post, "/api/batch-import/runs", ["items": [f.item("sk-x")]],
                            headers: [.contentType: "application/json"], expect: .unauthorized)
            for table in ["import_runs", "import_items", "import_events", "jobs"] { #expect(try await f.count(table) == 0, "\(table)") }
            // The key never comes back in an error.
            let echoed = try await client.execute(uri: "/api/batch-import/runs", method: .post, headers: ImportFixture.admin,
                                                  body: ByteBuffer(string: #"{"items":[{"base_url":"gopher://x","api_key":"sk-SECRET-in-error"}]}"#))
            #expect(!String(buffer: echoed.body).contains("sk-SECRET-in-error"))
        }
    }

    @Test(arguments: Engine.allCases) func privateTargetsRefusedUnlessAllowed(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine, allowPrivate: false)
        try await f.run { client in
            // Refused from the text alone (AddressPolicy.isPrivate), with 422 and nothing stored: none of these is
            // ever connected to or resolved.
            for base in ["http://127.0.0.1:8080", "http://localhost", "http://10.1.2.3", "http://192.168.0.9/v1", "http://[::1]:9",
                         "http://169.254.169.254", "http://metadata.internal"] {
                // The refusal is decided from the URL's text, so no connection or lookup can happen on the way.
                #expect(AddressPolicy.isPrivate(host: try #require(URL(string: base)?.host)), "\(base)")
                let problem = try await f.api(client, .post, "/api/batch-import/runs", ["items": [["base_url": base, "api_key": "sk-p"]]],
                                              expect: .unprocessableContent)
                #expect((problem["errors"] as? [[String: Any]])?.first?["message"] as? String ?? "" != "", "\(base)")
            }
            #expect(try await f.count("import_runs") == 0)
        }
    }

    @Test(arguments: Engine.allCases) func bodyOverTheLimitIs413(_ engine: Engine) async throws {
        let f = try await ImportFixture(engine, maxBodyBytes: 4096)
        try await f.run { client in
            let items = (0..<200).map { f.item("sk-large-body-\($0)") }
            try await f.api(client, .post, "/api/batch-import/runs", ["items": items], expect: .contentTooLarge)
            #expect(try await f.count("import_runs") == 0)
        }
    }
}
