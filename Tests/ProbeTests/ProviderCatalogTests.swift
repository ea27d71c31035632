import Foundation
import Probe
import Testing

@Suite struct ProviderCatalogTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("providers")

    @Test func theShippedCatalogLoads() throws {
        let catalog = try ProviderCatalog.load(directory: Self.directory)
        #expect(Set(catalog.providers.keys) == ["anthropic", "deepseek", "minimax", "moonshot", "openai"])
        for provider in catalog.providers.values {
            #expect(provider.models.contains(provider.smokeModel), "\(provider.name): the smoke model is one of its models")
            #expect(["openai", "anthropic"].contains(provider.type))
            for target in provider.aliases.values { #expect(provider.models.contains(target), "\(provider.name): alias to \(target)") }
        }
    }

    @Test(arguments: [
        ("Kimi 2.6", "moonshot", "kimi-k2.6"),
        ("moonshotai/Kimi-K2.6", "moonshot", "kimi-k2.6"),
        ("kimi_k2.6", nil, "kimi-k2.6"),
        ("DeepSeek V3", "deepseek", "deepseek-chat"),
        ("deepseek-ai/DeepSeek-R1", nil, "deepseek-reasoner"),
        ("minimax m2", "minimax", "MiniMax-M2"),
        ("GPT 4o  Mini", nil, "gpt-4o-mini"),
        ("openai/gpt-4o", "openai", "gpt-4o"),
        ("Some New-Model_X", nil, "some-new-model-x"),
    ] as [(String, String?, String)])
    func namesAreNormalised(_ raw: String, _ provider: String?, _ expected: String) throws {
        let catalog = try ProviderCatalog.load(directory: Self.directory)
        #expect(catalog.normalize(raw, provider: provider) == expected)
    }

    @Test func anInvalidFileIsNamed() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("{\"name\": 1}".utf8).write(to: dir.appendingPathComponent("broken.json"))
        #expect { try ProviderCatalog.load(directory: dir) } throws: { "\($0)".contains("broken.json") }
    }
}
