
/// Users, their keys and model prices, as the control plane reads and changes them.
extension AppDatabase {
    public func createUser(_ user: User) async throws -> User { try await inserted(user) }

    public func users(_ page: Page) async throws -> [User] { try await rows(User.self, page) }

    public func user(_ id: Int64) async throws -> User? {
        try await one(User.self, id)
    }

    /// Writes what an operator sets on a user; `used` and `exhausted_at` belong to settlement, which may have moved
    /// them since the user was read, and are left alone.
    public func updateUserSettings(_ user: User) async throws {
        try await write { db in try user.update(db, columns: ["name", "quota", "rate_multiplier_ppm", "status", "updated_at"]) }
    }

    public func createKey(_ key: APIKey) async throws -> APIKey { try await inserted(key) }

    /// Keys newest first, of one user or all.
    public func keys(userId: Int64?, _ page: Page) async throws -> [APIKey] {
        try await rows(APIKey.self, page, where: userId.map { SQLFilter("user_id = ?", [$0]) } ?? SQLFilter())
    }

    public func key(_ id: Int64) async throws -> APIKey? {
        try await one(APIKey.self, id)
    }

    /// Writes what an operator sets on a key; `used` belongs to the record writer and is left alone.
    public func updateKeySettings(_ key: APIKey) async throws {
        try await write { db in try key.update(db, columns: ["name", "models", "quota", "status", "updated_at"]) }
    }

    /// Creates or replaces a model's price.
    public func savePrice(_ price: ModelPrice) async throws {
        try await write { db in try price.save(db) }
    }

    /// Every model price by name.
    public func prices() async throws -> [ModelPrice] {
        try await read { db in try ModelPrice.fetchAll(db, sql: "SELECT * FROM model_prices ORDER BY name") }
    }
}
