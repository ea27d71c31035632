import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Store

/// The operator console: `/` leads to `/console/overview`; each page is its own URL (`/console/<page>[/<id>]`),
/// answered with the same small HTML shell naming the page, which `console.js` fills from `/api` with the session
/// cookie. The shell holds no data and no inline script, so every page answers under a strict Content-Security-Policy
/// and a reload or a bookmark lands on the same page.
struct ConsoleController<Context: RequestContext> {
    let sessions: ConsoleSessions
    let adminToken: [UInt8]

    /// The pages, in the navigation's order, with their headings.
    enum Page: String, CaseIterable {
        case overview, channels, users, imports, jobs, nodes, reconcile, artifacts, traces, signin

        var title: String {
            switch self {
            case .overview: "Overview"
            case .channels: "Channels"
            case .users: "Users and keys"
            case .imports: "Batch import"
            case .jobs: "Jobs and schedules"
            case .nodes: "Exit nodes"
            case .reconcile: "Reconcile"
            case .artifacts: "Artifacts"
            case .traces: "Traces"
            case .signin: "Sign in"
            }
        }
    }

    func register(on router: Router<Context>) {
        router.get("/") { _, _ in Response(status: .seeOther, headers: [.location: "/console/overview"]) }
        router.get("console") { _, _ in Response(status: .seeOther, headers: [.location: "/console/overview"]) }
        router.get("console/assets/:file") { request, context in try asset(request, context) }
        router.get("console/session") { request, _ in try await currentSession(request) }
        router.post("console/session") { request, context in try await signIn(request, context) }
        router.delete("console/session") { request, _ in try await signOut(request) }
        router.get("console/:page") { _, context in try shell(context.parameters.get("page") ?? "", id: nil) }
        router.get("console/:page/:id") { _, context in
            try shell(context.parameters.get("page") ?? "", id: context.parameters.get("id"))
        }
    }

    /// Headers on every console answer: the page may load only its own script, style sheet and API; it is never
    /// framed; nothing sniffs types; no URL leaks as a referrer.
    static var securityHeaders: HTTPFields {
        [
            HTTPField.Name("content-security-policy")!: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            HTTPField.Name("x-content-type-options")!: "nosniff",
            HTTPField.Name("referrer-policy")!: "no-referrer",
            HTTPField.Name("x-frame-options")!: "DENY",
        ]
    }

    static func response(_ status: HTTPResponse.Status = .ok, contentType: String, body: ByteBuffer, cache: String = "no-store",
                         extra: HTTPFields = [:]) -> Response {
        var headers = securityHeaders
        headers[.contentType] = contentType
        headers[.cacheControl] = cache
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    static func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok, extra: HTTPFields = [:]) throws -> Response {
        response(status, contentType: "application/json", body: ByteBuffer(bytes: try JSONEncoder.sortedKeys.encode(value)), extra: extra)
    }

    // MARK: Pages

    func shell(_ name: String, id: String?) throws -> Response {
        guard let page = Page(rawValue: name), id.map(Self.isPlainId) ?? true else {
            return Self.response(.notFound, contentType: "text/html; charset=utf-8", body: ByteBuffer(string: Self.html(
                title: "Not found", page: "notfound", id: nil, nav: true)))
        }
        return Self.response(contentType: "text/html; charset=utf-8",
                             body: ByteBuffer(string: Self.html(title: page.title, page: page.rawValue, id: id, nav: page != .signin)))
    }

    /// Ids in page URLs are numbers or names made of letters, digits, `.`, `_` and `-` (a schedule's name): nothing
    /// that needs escaping where the shell repeats it.
    static func isPlainId(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 128 && id.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._-".unicodeScalars.contains($0) }
    }

    static func html(title: String, page: String, id: String?, nav: Bool) -> String {
        let links = Page.allCases.filter { $0 != .signin }.map { p in
            "<a href=\"/console/\(p.rawValue)\"\(p.rawValue == page ? " aria-current=\"page\"" : "")>\(p.title)</a>"
        }.joined()
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) · Switchyard</title>
            <link rel="icon" href="data:,">
            <link rel="stylesheet" href="/console/assets/console.css">
            <script src="/console/assets/console.js" defer></script>
            </head>
            <body data-page="\(page)" data-id="\(id ?? "")">
            <a class="skip" href="#main">Skip to content</a>
            <header>
            <span class="brand">Switchyard</span>
            \(nav ? "<nav aria-label=\"Console\">\(links)</nav><button type=\"button\" id=\"signout\">Sign out</button>" : "")
            </header>
            <main id="main" tabindex="-1">
            <h1>\(title)</h1>
            <p id="status" role="status" aria-live="polite"></p>
            <div id="view"></div>
            </main>
            </body>
            </html>

            """
    }

    // MARK: Assets

    func asset(_ request: Request, _ context: Context) throws -> Response {
        let name = context.parameters.get("file") ?? ""
        guard let asset = ConsoleAssets.files[name], let etag = ConsoleAssets.etags[name] else {
            return Self.response(.notFound, contentType: "text/plain; charset=utf-8", body: ByteBuffer(string: "no such asset\n"))
        }
        if request.headers[.ifNoneMatch] == etag {
            return Self.response(.notModified, contentType: asset.type, body: ByteBuffer(), cache: "no-cache", extra: [.eTag: etag])
        }
        return Self.response(contentType: asset.type, body: ByteBuffer(bytes: asset.bytes), cache: "no-cache", extra: [.eTag: etag])
    }

    // MARK: Session

    struct SessionView: Encodable {
        let csrf: String
        let expiresAt: Int64

        enum CodingKeys: String, CodingKey {
            case csrf
            case expiresAt = "expires_at"
        }
    }

    struct SignIn: Decodable {
        let token: String
    }

    func currentSession(_ request: Request) async throws -> Response {
        guard let session = try await sessions.session(of: request) else { throw Problem(.unauthorized, "not signed in") }
        return try Self.jsonResponse(SessionView(csrf: session.csrf, expiresAt: session.expiresAt))
    }

    /// `POST /console/session {"token": "<admin token>"}`: a JSON body only (a cross-site form cannot send one), so
    /// no other site can sign a browser in.
    func signIn(_ request: Request, _ context: Context) async throws -> Response {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            throw Problem(.unsupportedMediaType, "sign in with a JSON body: {\"token\": \"<admin token>\"}")
        }
        let body: SignIn
        do {
            var buffer = try await request.body.collect(upTo: 64 * 1024)
            body = try JSONDecoder().decode(SignIn.self, from: buffer.readData(length: buffer.readableBytes) ?? Data())
        } catch {
            throw Problem(.badRequest, "sign in with a JSON body: {\"token\": \"<admin token>\"}")
        }
        guard constantTimeEqual(Array(body.token.utf8), adminToken) else {
            throw Problem(.unauthorized, "that is not this daemon's admin token")
        }
        let issued = try await sessions.signIn(secure: ConsoleSessions.isSecure(request))
        return try Self.jsonResponse(SessionView(csrf: issued.session.csrf, expiresAt: issued.session.expiresAt), status: .created,
                                     extra: [.setCookie: issued.cookie])
    }

    /// Sign-out: the session ends on every process (it is deleted from the database) and the cookie is cleared.
    func signOut(_ request: Request) async throws -> Response {
        if let session = try await sessions.session(of: request) { try ConsoleSessions.requireCSRF(request, for: session) }
        let cleared = try await sessions.signOut(request, secure: ConsoleSessions.isSecure(request))
        return Self.response(.noContent, contentType: "application/json", body: ByteBuffer(), extra: [.setCookie: cleared])
    }
}

/// The console's files, compiled into the binary by the package's `embedInCode` resources.
enum ConsoleAssets {
    static let files: [String: (type: String, bytes: [UInt8])] = [
        "console.js": ("text/javascript; charset=utf-8", PackageResources.console_js),
        "console.css": ("text/css; charset=utf-8", PackageResources.console_css),
    ]

    /// Each file's ETag: its content's hash, so a new build's files are fetched again and an unchanged one is a 304.
    static let etags: [String: String] = files.mapValues { file in
        "\"" + String(Fingerprint.sha256Hex(String(decoding: file.bytes, as: UTF8.self)).prefix(16)) + "\""
    }
}
