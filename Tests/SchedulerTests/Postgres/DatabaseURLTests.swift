import Scheduler
import Testing

@Suite struct DatabaseURLTests {
    @Test func parsesEveryPart() throws {
        let url = try DatabaseURL("postgres://relay:s3cr%2Ft%40x@127.0.0.9:6543/switch%20yard?sslmode=verify-full")
        #expect(url.user == "relay")
        #expect(url.password == "s3cr/t@x")
        #expect(url.host == "127.0.0.9")
        #expect(url.port == 6543)
        #expect(url.database == "switch yard")
        #expect(url.sslMode == .verifyFull)
    }

    @Test func defaultsAndAlternateForms() throws {
        let url = try DatabaseURL("postgresql://relay@localhost/app")
        #expect(url.password == nil)
        #expect(url.port == 5432)
        #expect(url.sslMode == .prefer)
        let v6 = try DatabaseURL("postgres://u:p@[::1]:5433/db?sslmode=disable")
        #expect(v6.host == "::1")
        #expect(v6.port == 5433)
        #expect(v6.sslMode == .disable)
        #expect(v6.description == "postgres://u:***@[::1]:5433/db?sslmode=disable")
        // An unencoded "@" in the password: the host starts after the last one.
        let at = try DatabaseURL("postgres://u:pa@ss@h:1/db")
        #expect(at.password == "pa@ss")
        #expect(at.host == "h")
        // Unencoded "/" and "?" in a password (libpq refuses them): taken as the password, still never shown.
        for (text, password) in [("postgres://u:Hunter2/secret@db:5432/app", "Hunter2/secret"),
                                 ("postgres://u:Hunter2?secret@db:5432/app", "Hunter2?secret")] {
            let url = try DatabaseURL(text)
            #expect(url.password == password)
            #expect(url.host == "db" && url.database == "app")
            #expect(!url.description.contains("Hunter"))
        }
    }

    @Test(arguments: DatabaseURL.SSLMode.allCases)
    func everySSLModeSelectsAClientConfiguration(_ mode: DatabaseURL.SSLMode) throws {
        let url = try DatabaseURL("postgres://u:p@h/db?sslmode=\(mode.rawValue)")
        #expect(url.sslMode == mode)
        let configuration = try url.clientConfiguration()
        #expect(configuration.host == "h")
        #expect(configuration.password == "p")
    }

    @Test func thePasswordIsNeverShown() throws {
        let password = "Hunter2-very-secret"
        let url = try DatabaseURL("postgres://relay:\(password)@db:5432/app?sslmode=require")
        var dumped = ""
        dump(url, to: &dumped)
        for text in [url.description, "\(url)", String(reflecting: url), url.debugDescription, dumped,
                     String(describing: [url]), String(reflecting: Optional(url))] {
            #expect(!text.contains(password), "\(text)")
            #expect(!text.contains("Hunter"), "\(text)")
        }
        #expect(url.description == "postgres://relay:***@db:5432/app?sslmode=require")
    }

    /// Malformed URLs whose password could land in the host, port, path or query: no error text shows any of it.
    @Test(arguments: [
        "postgres://relay:Hunter2#secret@db/app",           // "#" cuts the rest off
        "postgres://relay:Hunter2secret@db:notaport/app",
        "postgres://relay:Hunter2secret@db:5432/app?sslmode=Hunter2secret",
        "postgres://relay:Hunter2secret@db:5432/app?password=Hunter2secret",
        "postgres://relay:Hunter2%ZZsecret@db:5432/app",    // bad percent-encoding
        "postgres://relay:Hunter2secret@:5432/app",
        "postgres://relay:Hunter2secret@db:5432",
        "postgres://relay:Hunter2secret@[::1/app",
        "mysql://relay:Hunter2secret@db/app",
        "relay:Hunter2secret@db/app",
        "postgres://:Hunter2secret@db/app",
    ])
    func errorsNeverShowThePassword(_ text: String) {
        #expect {
            _ = try DatabaseURL(text)
        } throws: { error in
            let shown = "\(error)" + String(reflecting: error)
            return shown.hasPrefix("invalid database URL: ") && !shown.contains("Hunter") && !shown.contains("secret")
        }
    }
}
