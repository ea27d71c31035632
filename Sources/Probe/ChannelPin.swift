/// The request header that pins a request to the gateway to one channel, honoured with the admin token only: how a
/// client (the import's confirmation step) proves a channel through the gateway itself, which reads it.
public enum ChannelPin {
    public static let header = "x-switchyard-channel"

    /// The header pinning a request to `channelId`.
    public static func headers(channelId: Int64) -> [(String, String)] { [(header, String(channelId))] }
}
