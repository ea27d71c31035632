import Foundation
import Hummingbird
import Scheduler
import Store

/// `/api/users`, `/api/keys` and `/api/models`: who may call, with which key, at what price.
struct AccountsController {
    let db: AppDatabase
    let state: GatewayState
    let clock: any WallClock

    func register(on group: RouterGroup<GatewayContext>) {
        group.post("users", use: createUser)
        group.get("users", use: listUsers)
        group.get("users/:id", use: showUser)
        group.patch("users/:id", use: updateUser)
        group.post("keys", use: createKey)
        group.get("keys", use: listKeys)
        group.patch("keys/:id", use: updateKey)
        group.put("models/:name", use: putPrice)
        group.get("models", use: listPrices)
    }

    struct UserInput: Decodable {
        var name: String?
        var quota: Int64?
        var rateMultiplier: Double?
        var rateMultiplierPpm: Int64?
        var status: String?
        enum CodingKeys: String, CodingKey {
            case name, quota, status
            case rateMultiplier = "rate_multiplier"
            case rateMultiplierPpm = "rate_multiplier_ppm"
        }

        /// The multiplier in parts per million; a decimal like 1.5 is taken to 6 places, exactly.
        func ppm() throws -> Int64? {
            if let rateMultiplierPpm {
                guard rateMultiplierPpm >= 0 else { throw Problem(.unprocessableContent, "rate_multiplier_ppm must not be negative") }
                return rateMultiplierPpm
            }
            guard let rateMultiplier else { return nil }
            guard rateMultiplier >= 0, rateMultiplier < 1_000_000 else { throw Problem(.unprocessableContent, "rate_multiplier must be 0 or more") }
            return Int64((rateMultiplier * 1_000_000).rounded())
        }
    }

    @Sendable func createUser(_ request: Request, context: GatewayContext) async throws -> Response {
        let input = try await request.decode(as: UserInput.self, context: context)
        guard let name = input.name, !name.isEmpty else { throw Problem(.unprocessableContent, "name is required") }
        if let quota = input.quota, quota < 0 { throw Problem(.unprocessableContent, "quota must not be negative") }
        let new = User(name: name, quota: input.quota, rateMultiplierPpm: try input.ppm() ?? 1_000_000, now: clock.nowMillis())
        let user = try await db.createUser(new)
        try await state.reload()
        return try json(UserView(user), status: .created)
    }

    @Sendable func listUsers(_ request: Request, context: GatewayContext) async throws -> Response {
        let page = try PageRequest(request)
        let (items, next) = page.page(try await db.users(page.store)) { $0.id! }
        return try json(PageView(data: items.map(UserView.init), nextCursor: next))
    }

    @Sendable func showUser(_ request: Request, context: GatewayContext) async throws -> Response {
        try json(UserView(try await fetchUser(try idParameter(context))))
    }

    @Sendable func updateUser(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = try idParameter(context)
        let input = try await request.decode(as: UserInput.self, context: context)
        var user = try await fetchUser(id)
        if let name = input.name { user.name = name }
        if let quota = input.quota {
            guard quota >= 0 else { throw Problem(.unprocessableContent, "quota must not be negative") }
            user.quota = quota
        }
        if let ppm = try input.ppm() { user.rateMultiplierPpm = ppm }
        if let status = input.status { user.status = try activeOrDisabled(status) }
        user.updatedAt = clock.nowMillis()
        let updated = user
        // Only the columns an operator sets: `used` and `exhausted_at` belong to settlement, which may have
        // moved them since the read above.
        try await db.updateUserSettings(updated)
        try await state.reload()
        return try json(UserView(updated))
    }

    struct KeyInput: Decodable {
        var userId: Int64?
        var name: String?
        var models: [String]?
        var quota: Int64?
        var status: String?
        enum CodingKeys: String, CodingKey {
            case name, models, quota, status
            case userId = "user_id"
        }
    }

    /// Creates a key and shows it in plain text this once; only its SHA-256 is kept.
    @Sendable func createKey(_ request: Request, context: GatewayContext) async throws -> Response {
        let input = try await request.decode(as: KeyInput.self, context: context)
        guard let userId = input.userId else { throw Problem(.unprocessableContent, "user_id is required") }
        _ = try await fetchUser(userId, status: .unprocessableContent)
        if let quota = input.quota, quota < 0 { throw Problem(.unprocessableContent, "quota must not be negative") }
        let plain = Self.generateKey()
        let new = APIKey(userId: userId, name: input.name ?? "key", keyHash: Fingerprint.sha256Hex(plain),
                         fingerprint: Fingerprint.of(plain), models: input.models, quota: input.quota, now: clock.nowMillis())
        let key = try await db.createKey(new)
        try await state.reload()
        return try json(KeyView(key, plain: plain), status: .created)
    }

    @Sendable func listKeys(_ request: Request, context: GatewayContext) async throws -> Response {
        let page = try PageRequest(request)
        let userId = request.uri.queryParameters["user_id"].flatMap { Int64($0) }
        let (items, next) = page.page(try await db.keys(userId: userId, page.store)) { $0.id! }
        return try json(PageView(data: items.map { KeyView($0) }, nextCursor: next))
    }

    @Sendable func updateKey(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = try idParameter(context)
        let input = try await request.decode(as: KeyInput.self, context: context)
        guard var key = try await db.key(id) else {
            throw Problem(.notFound, "key \(id) not found")
        }
        if let name = input.name { key.name = name }
        if let models = input.models { key.models = models }
        if let quota = input.quota {
            guard quota >= 0 else { throw Problem(.unprocessableContent, "quota must not be negative") }
            key.quota = quota
        }
        if let status = input.status { key.status = try activeOrDisabled(status) }
        key.updatedAt = clock.nowMillis()
        let updated = key
        // Only the columns an operator sets: `used` belongs to the record writer, which may have moved it since the read.
        try await db.updateKeySettings(updated)
        try await state.reload()
        return try json(KeyView(updated))
    }

    struct PriceInput: Decodable {
        var inputPrice: Int64
        var outputPrice: Int64
        enum CodingKeys: String, CodingKey {
            case inputPrice = "input_price"
            case outputPrice = "output_price"
        }
    }

    @Sendable func putPrice(_ request: Request, context: GatewayContext) async throws -> Response {
        let name = try context.parameters.require("name")
        let input = try await request.decode(as: PriceInput.self, context: context)
        guard input.inputPrice >= 0, input.outputPrice >= 0 else { throw Problem(.unprocessableContent, "prices must not be negative") }
        let price = ModelPrice(name: name, inputPrice: input.inputPrice, outputPrice: input.outputPrice, updatedAt: clock.nowMillis())
        try await db.savePrice(price)
        try await state.reload()
        return try json(price)
    }

    @Sendable func listPrices(_ request: Request, context: GatewayContext) async throws -> Response {
        try json(PageView(data: try await db.prices(), nextCursor: nil))
    }

    private func fetchUser(_ id: Int64, status: HTTPResponse.Status = .notFound) async throws -> User {
        guard let user = try await db.user(id) else {
            throw Problem(status, "user \(id) not found")
        }
        return user
    }

    /// `sk-` and 48 random alphanumerics (~285 bits).
    static func generateKey() -> String { "sk-" + randomAlphanumerics(48) }
}

/// `count` letters and digits from the system's random source (about 5.95 bits each): keys and console sessions.
func randomAlphanumerics(_ count: Int) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    var generator = SystemRandomNumberGenerator()
    return String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
}

/// `active` or `disabled`, else 422.
func activeOrDisabled(_ status: String) throws -> String {
    guard ["active", "disabled"].contains(status) else { throw Problem(.unprocessableContent, "status must be active or disabled") }
    return status
}
