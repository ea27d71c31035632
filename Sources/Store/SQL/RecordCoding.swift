import Foundation

/// Encodes a record into its columns, as GRDB does: scalars as themselves, `Data` as a blob, a raw-value enum as its
/// raw value, `nil` as NULL (an update must clear a column, not skip it), and anything with structure (arrays,
/// dictionaries, nested records) as JSON text with sorted keys.
struct RecordEncoder: Encoder {
    final class Columns {
        var list: [(name: String, value: SQLValue)] = []
    }

    let columns = Columns()
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func columns(of record: some Encodable) throws -> [(name: String, value: SQLValue)] {
        let encoder = RecordEncoder()
        try record.encode(to: encoder)
        return encoder.columns.list
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Container<Key>(columns: columns))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer { preconditionFailure("a record encodes as columns") }
    func singleValueContainer() -> any SingleValueEncodingContainer { preconditionFailure("a record encodes as columns") }

    struct Container<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let columns: Columns
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil(forKey key: Key) throws { columns.list.append((key.stringValue, .null)) }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            columns.list.append((key.stringValue, try ColumnValue.encode(value)))
        }

        // Every `encodeIfPresent` overload writes NULL for nil: the standard library's defaults would skip the
        // column, and an update must clear it.
        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try put(value, key) }
        mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try put(value, key) }
        mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try put(value, key) }
        mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try put(value, key) }
        mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try put(value, key) }
        mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try put(value, key) }
        mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try put(value, key) }
        mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try put(value, key) }
        mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try put(value, key) }
        mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try put(value, key) }
        mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try put(value, key) }
        mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try put(value, key) }
        mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try put(value, key) }
        mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try put(value, key) }
        mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try put(value, key) }

        private func put<T: Encodable>(_ value: T?, _ key: Key) throws {
            columns.list.append((key.stringValue, try value.map(ColumnValue.encode) ?? .null))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey> { preconditionFailure("nested values are encoded as JSON") }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            preconditionFailure("nested values are encoded as JSON")
        }
        mutating func superEncoder() -> any Encoder { preconditionFailure("records have no superclass") }
        mutating func superEncoder(forKey key: Key) -> any Encoder { preconditionFailure("records have no superclass") }
    }
}

/// One column's value: a scalar stored as itself, anything structured as JSON text.
enum ColumnValue {
    static func encode<T: Encodable>(_ value: T) throws -> SQLValue {
        if let scalar = value as? any SQLValueConvertible { return scalar.sqlValue }
        let probe = ScalarProbe()
        do {
            try value.encode(to: probe)
            if let scalar = probe.value { return scalar }
        } catch is ScalarProbe.Structured {}
        return .text(String(decoding: try JSONEncoder.columns.encode(value), as: UTF8.self))
    }

    static func decode<T: Decodable>(_ type: T.Type, from value: SQLValue, column: String) throws -> T {
        if let scalar = T.self as? any SQLValueConvertible.Type {
            guard let decoded = scalar.init(sqlValue: value) as? T else {
                throw StoreError.database("column \(column) holds \(value.kind), not \(T.self)")
            }
            return decoded
        }
        do {
            return try T(from: ScalarReader(value: value))
        } catch is ScalarProbe.Structured {
            guard let text = String(sqlValue: value) else {
                throw StoreError.database("column \(column) holds \(value.kind), not JSON for \(T.self)")
            }
            do {
                return try JSONDecoder().decode(T.self, from: Data(text.utf8))
            } catch {
                throw StoreError.database("column \(column) does not hold a valid \(T.self)")
            }
        }
    }
}

extension JSONEncoder {
    /// How structured columns are written: sorted keys, so equal values store equal text (GRDB's choice too).
    static var columns: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }
}

/// Encodes a value that is a single scalar (a raw-value enum, a wrapper), or throws `Structured` for anything else.
final class ScalarProbe: Encoder, SingleValueEncodingContainer {
    struct Structured: Error {}
    var value: SQLValue?
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Refusing<Key>())
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { RefusingUnkeyed() }
    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    func encodeNil() throws { value = .null }
    func encode(_ value: Bool) throws { self.value = value.sqlValue }
    func encode(_ value: String) throws { self.value = value.sqlValue }
    func encode(_ value: Double) throws { self.value = value.sqlValue }
    func encode(_ value: Float) throws { self.value = Double(value).sqlValue }
    func encode(_ value: Int) throws { self.value = value.sqlValue }
    func encode(_ value: Int8) throws { self.value = Int(value).sqlValue }
    func encode(_ value: Int16) throws { self.value = Int(value).sqlValue }
    func encode(_ value: Int32) throws { self.value = Int(value).sqlValue }
    func encode(_ value: Int64) throws { self.value = value.sqlValue }
    func encode(_ value: UInt) throws { self.value = Int64(value).sqlValue }
    func encode(_ value: UInt8) throws { self.value = Int(value).sqlValue }
    func encode(_ value: UInt16) throws { self.value = Int(value).sqlValue }
    func encode(_ value: UInt32) throws { self.value = Int64(value).sqlValue }
    func encode(_ value: UInt64) throws { self.value = Int64(value).sqlValue }
    func encode<T: Encodable>(_ value: T) throws { self.value = try ColumnValue.encode(value) }

    /// Containers that make the probe give up at the first use: the value has structure.
    struct Refusing<Key: CodingKey>: KeyedEncodingContainerProtocol {
        var codingPath: [any CodingKey] { [] }
        mutating func encodeNil(forKey key: Key) throws { throw Structured() }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { throw Structured() }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey> { KeyedEncodingContainer(Refusing<NestedKey>()) }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { RefusingUnkeyed() }
        mutating func superEncoder() -> any Encoder { ScalarProbe() }
        mutating func superEncoder(forKey key: Key) -> any Encoder { ScalarProbe() }
    }

    struct RefusingUnkeyed: UnkeyedEncodingContainer {
        var codingPath: [any CodingKey] { [] }
        var count: Int { 0 }
        mutating func encodeNil() throws { throw Structured() }
        mutating func encode<T: Encodable>(_ value: T) throws { throw Structured() }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(Refusing<NestedKey>())
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { RefusingUnkeyed() }
        mutating func superEncoder() -> any Encoder { ScalarProbe() }
    }
}

/// Decodes a single-scalar value (a raw-value enum) from one column; asks for JSON (`Structured`) otherwise.
struct ScalarReader: Decoder, SingleValueDecodingContainer {
    let value: SQLValue
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> { throw ScalarProbe.Structured() }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw ScalarProbe.Structured() }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { value == .null }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if let scalar = T.self as? any SQLValueConvertible.Type, let decoded = scalar.init(sqlValue: value) as? T {
            return decoded
        }
        if let fixed = try decodeFixedWidth(type) { return fixed }
        return try T(from: self)
    }

    private func decodeFixedWidth<T>(_ type: T.Type) throws -> T? {
        guard case .integer(let number) = value else { return nil }
        switch type {
        case is Int32.Type: return Int32(exactly: number) as? T
        case is Int16.Type: return Int16(exactly: number) as? T
        case is Int8.Type: return Int8(exactly: number) as? T
        case is UInt.Type: return UInt(exactly: number) as? T
        case is UInt32.Type: return UInt32(exactly: number) as? T
        case is UInt64.Type: return UInt64(exactly: number) as? T
        default: return nil
        }
    }
}

/// Decodes a record from a row by column name; a missing column or NULL is `nil` for an optional property.
struct RecordDecoder: Decoder {
    let row: SQLRow
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Container<Key>(row: row))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw StoreError.database("a record decodes from columns") }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { throw StoreError.database("a record decodes from columns") }

    struct Container<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let row: SQLRow
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { row.columns.compactMap(Key.init(stringValue:)) }

        func contains(_ key: Key) -> Bool { row.columns.contains(key.stringValue) }

        func decodeNil(forKey key: Key) throws -> Bool { (row.value(named: key.stringValue) ?? .null) == .null }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            guard let value = row.value(named: key.stringValue) else {
                throw StoreError.database("no column \(key.stringValue) for \(T.self)")
            }
            if value == .null, let none = (Optional<Any>.none as Any) as? T { return none }
            return try ColumnValue.decode(type, from: value, column: key.stringValue)
        }

        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            guard let value = row.value(named: key.stringValue), value != .null else { return nil }
            return try ColumnValue.decode(type, from: value, column: key.stringValue)
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey> { throw StoreError.database("nested values are decoded from JSON") }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw StoreError.database("nested values are decoded from JSON")
        }
        func superDecoder() throws -> any Decoder { throw StoreError.database("records have no superclass") }
        func superDecoder(forKey key: Key) throws -> any Decoder { throw StoreError.database("records have no superclass") }
    }
}
