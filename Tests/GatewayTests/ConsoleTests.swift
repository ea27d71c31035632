import Foundation
import Gateway
import GatewayFixtures
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Store
import Testing
import TestSupport

/// The console's server side: the pages' shell and headers, the embedded assets, and the session that stands in
/// for the admin token (cookie flags, CSRF on every change, sign-out everywhere). The pages themselves are driven
/// in a real browser by `ConsoleBrowserTests`.
@Suite struct ConsoleTests {
    static func signIn(_ client: any TestClientProtocol, token: String = RelayFixture.adminToken,
                       headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        return try await client.execute(uri: "/console/session", method: .post, headers: headers,
                                        body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["token": token])))
    }

    static func cookie(_ response: TestResponse) -> String? {
        response.headers[.setCookie].flatMap { $0.split(separator: ";").first.map(String.init) }
    }

    @Test func pagesAreOneShellUnderAStrictPolicy() async throws {
        let f = try await RelayFixture(.sqlite)
        try await f.test { client in
            let root = try await client.execute(uri: "/", method: .get)
            #expect(root.status == .seeOther && root.headers[.location] == "/console/overview")
            for path in ["/console/overview", "/console/channels", "/console/users", "/console/jobs/42", "/console/jobs/yard.prune", "/console/signin"] {
                let page = try await client.execute(uri: path, method: .get)
                let html = String(buffer: page.body)
                #expect(page.status == .ok, "\(path)")
                #expect(page.headers[.contentType] == "text/html; charset=utf-8")
                let csp = page.headers[HTTPField.Name("content-security-policy")!] ?? ""
                #expect(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe"), "\(csp)")
                #expect(page.headers[HTTPField.Name("x-content-type-options")!] == "nosniff")
                #expect(!html.contains("<script>") && html.contains("<script src=\"/console/assets/console.js\" defer></script>"),
                        "no inline script")
                #expect(!html.contains(RelayFixture.adminToken))
            }
            // A page that does not exist, or an id that is not a plain name, is a 404, never repeated into the page.
            for path in ["/console/nope", "/console/jobs/%3Cscript%3E", "/console/jobs/a%22b"] {
                let page = try await client.execute(uri: path, method: .get)
                #expect(page.status == .notFound, "\(path)")
                #expect(!String(buffer: page.body).contains("<script>alert") && !String(buffer: page.body).contains("a\"b"))
            }
        }
    }

    @Test func assetsAreEmbeddedAndRevalidated() async throws {
        let f = try await RelayFixture(.sqlite)
        try await f.test { client in
            let script = try await client.execute(uri: "/console/assets/console.js", method: .get)
            #expect(script.status == .ok && script.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(String(buffer: script.body).contains("textContent"))
            #expect(!String(buffer: script.body).contains("innerHTML"), "the script never writes markup from data")
            let etag = try #require(script.headers[.eTag])
            let again = try await client.execute(uri: "/console/assets/console.js", method: .get, headers: [.ifNoneMatch: etag])
            #expect(again.status == .notModified && again.body.readableBytes == 0)
            let style = try await client.execute(uri: "/console/assets/console.css", method: .get)
            #expect(style.status == .ok && style.headers[.contentType] == "text/css; charset=utf-8")
            #expect(try await client.execute(uri: "/console/assets/../Package.swift", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/console/assets/other.js", method: .get).status == .notFound)
        }
    }

    @Test(arguments: Engine.allCases) func aSessionStandsInForTheTokenWithCSRFOnEveryChange(_ engine: Engine) async throws {
        let f = try await RelayFixture(engine)
        try await f.test { client in
            // Refused sign-ins: a wrong token, a form post (what a cross-site page could send), no body.
            #expect(try await Self.signIn(client, token: "wrong").status == .unauthorized)
            let form = try await client.execute(uri: "/console/session", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                                body: ByteBuffer(string: "token=\(RelayFixture.adminToken)"))
            #expect(form.status == .unsupportedMediaType)
            #expect(try await client.execute(uri: "/console/session", method: .get).status == .unauthorized)

            let signedIn = try await Self.signIn(client)
            #expect(signedIn.status == .created)
            let setCookie = try #require(signedIn.headers[.setCookie])
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/")
                    && setCookie.contains("Max-Age=43200") && !setCookie.contains("Secure"), "\(setCookie)")
            #expect(!setCookie.contains(RelayFixture.adminToken))
            let csrf = try #require(jsonObject(signedIn)["csrf"] as? String)
            let cookie = try #require(Self.cookie(signedIn))
            let stored = try await f.db.read { db in try String.fetchOne(db, sql: "SELECT id_hash FROM console_sessions") }
            #expect(stored != nil && !cookie.contains(stored!), "only the cookie's hash is stored")

            // Behind HTTPS (as a proxy says) the cookie is Secure.
            let secure = try await Self.signIn(client, headers: [HTTPField.Name("x-forwarded-proto")!: "https"])
            #expect(secure.headers[.setCookie]?.contains("; Secure") == true)

            let session = try await client.execute(uri: "/console/session", method: .get, headers: [.cookie: cookie])
            #expect(session.status == .ok && jsonObject(session)["csrf"] as? String == csrf)
            // Reads need only the cookie; a change needs the session's CSRF token as well.
            #expect(try await client.execute(uri: "/api/users", method: .get, headers: [.cookie: cookie]).status == .ok)
            let body = ByteBuffer(string: #"{"name":"via-console"}"#)
            let noToken = try await client.execute(uri: "/api/users", method: .post, headers: [.cookie: cookie, .contentType: "application/json"], body: body)
            #expect(noToken.status == .forbidden && jsonObject(noToken)["detail"] as? String != nil)
            let wrongToken = try await client.execute(uri: "/api/users", method: .post, headers: [
                .cookie: cookie, .contentType: "application/json", HTTPField.Name("x-csrf-token")!: "x" + csrf.dropFirst()], body: body)
            #expect(wrongToken.status == .forbidden)
            let users = try await f.db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM users WHERE name = 'via-console'") }
            #expect(users == 0, "a refused change changed nothing")
            let made = try await client.execute(uri: "/api/users", method: .post, headers: [
                .cookie: cookie, .contentType: "application/json", HTTPField.Name("x-csrf-token")!: csrf], body: body)
            #expect(made.status == .created)
            // The bearer token works as before, and a cookie that names no session is refused.
            #expect(try await client.execute(uri: "/api/users", method: .get, headers: RelayFixture.admin).status == .ok)
            #expect(try await client.execute(uri: "/api/users", method: .get, headers: [.cookie: "switchyard_session=forged"]).status == .unauthorized)

            // Sign-out needs the CSRF token too, then ends the session in the database: the cookie replayed is refused.
            #expect(try await client.execute(uri: "/console/session", method: .delete, headers: [.cookie: cookie]).status == .forbidden)
            let out = try await client.execute(uri: "/console/session", method: .delete, headers: [.cookie: cookie, HTTPField.Name("x-csrf-token")!: csrf])
            #expect(out.status == .noContent && out.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await client.execute(uri: "/api/users", method: .get, headers: [.cookie: cookie]).status == .unauthorized)
        }
    }

    @Test func anExpiredSessionIsRefused() async throws {
        let f = try await RelayFixture(.sqlite)
        try await f.test { client in
            let signedIn = try await Self.signIn(client)
            let cookie = try #require(Self.cookie(signedIn))
            try await f.db.write { db in try db.execute(sql: "UPDATE console_sessions SET expires_at = 1") }
            let refused = try await client.execute(uri: "/api/users", method: .get, headers: [.cookie: cookie])
            #expect(refused.status == .unauthorized && (jsonObject(refused)["detail"] as? String)?.contains("expired") == true)
            // The next sign-in clears expired rows.
            _ = try await Self.signIn(client)
            #expect(try await f.db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM console_sessions") } == 1)
        }
    }
}
