import Store

/// The database's size as a maintenance summary reports it (`database_before` / `database_after`).
public struct SpaceReport: Codable, Sendable, Equatable {
    public var fileBytes: Int64
    public var walBytes: Int64
    public var totalBytes: Int64
    public var freePages: Int64
    public var pageSize: Int64

    enum CodingKeys: String, CodingKey {
        case fileBytes = "file_bytes"
        case walBytes = "wal_bytes"
        case totalBytes = "total_bytes"
        case freePages = "free_pages"
        case pageSize = "page_size"
    }

    public init(_ usage: DatabaseSpace.Usage) {
        fileBytes = usage.fileBytes
        walBytes = usage.walBytes
        totalBytes = usage.totalBytes
        freePages = usage.freePages
        pageSize = usage.pageSize
    }
}

/// How room was given back: pages released by incremental vacuum and the truncating WAL checkpoint.
public struct ReclaimReport: Codable, Sendable, Equatable {
    public var pagesReleased: Int64
    public var checkpointBusy: Bool
    public var walFramesCheckpointed: Int64

    enum CodingKeys: String, CodingKey {
        case pagesReleased = "pages_released"
        case checkpointBusy = "checkpoint_busy"
        case walFramesCheckpointed = "wal_frames_checkpointed"
    }

    public init(_ reclaimed: DatabaseSpace.Reclaimed) {
        pagesReleased = reclaimed.pagesReleased
        checkpointBusy = reclaimed.checkpoint.busy
        walFramesCheckpointed = reclaimed.checkpoint.checkpointedFrames
    }
}
