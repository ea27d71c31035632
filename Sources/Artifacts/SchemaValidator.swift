import Foundation

/// Checks a JSON document against a JSON Schema, the subset the artifact schemas use: `type` (one or a list),
/// `properties`, `required`, `additionalProperties: false`, `items`, `enum`, `const`, `minimum`, `pattern`,
/// `minLength`, `not`. Returns every violation with its path, so `artifacts verify` can name them all.
public enum SchemaValidator {
    public static func violations(of document: Any, schema: Any) -> [String] {
        var found: [String] = []
        check(document, schema, path: "$", into: &found)
        return found
    }

    public static func violations(json: Data, schema: Data) throws -> [String] {
        let document = try JSONSerialization.jsonObject(with: json, options: [.fragmentsAllowed])
        let schemaObject = try JSONSerialization.jsonObject(with: schema)
        return violations(of: document, schema: schemaObject)
    }

    private static func check(_ value: Any, _ schema: Any, path: String, into found: inout [String]) {
        guard let schema = schema as? [String: Any] else { return }
        if let types = schema["type"] {
            let allowed = (types as? [String]) ?? [types as? String].compactMap { $0 }
            if !allowed.contains(where: { matches(value, type: $0) }) {
                found.append("\(path): expected \(allowed.joined(separator: " or ")), found \(typeName(value))")
                return
            }
        }
        if let options = schema["enum"] as? [Any], !options.contains(where: { equal($0, value) }) {
            found.append("\(path): \(render(value)) is not one of \(options.map(render).joined(separator: ", "))")
        }
        if let constant = schema["const"], !equal(constant, value) {
            found.append("\(path): expected \(render(constant)), found \(render(value))")
        }
        if let minimum = schema["minimum"] as? NSNumber, let number = value as? NSNumber, !isBool(value),
           number.doubleValue < minimum.doubleValue {
            found.append("\(path): \(number) is below the minimum \(minimum)")
        }
        if let string = value as? String {
            if let minLength = schema["minLength"] as? Int, string.count < minLength {
                found.append("\(path): shorter than \(minLength) characters")
            }
            if let pattern = schema["pattern"] as? String,
               string.range(of: pattern, options: .regularExpression) == nil {
                found.append("\(path): \(render(value)) does not match \(pattern)")
            }
        }
        if let not = schema["not"], violations(of: value, schema: not).isEmpty {
            found.append("\(path): matches a schema it must not match")
        }
        if let object = value as? [String: Any] {
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for name in (schema["required"] as? [String] ?? []) where object[name] == nil {
                found.append("\(path): missing required property \(name)")
            }
            for (name, child) in object.sorted(by: { $0.key < $1.key }) {
                if let childSchema = properties[name] {
                    check(child, childSchema, path: "\(path).\(name)", into: &found)
                } else if let extra = schema["additionalProperties"] {
                    if (extra as? Bool) == false {
                        found.append("\(path): unexpected property \(name)")
                    } else {
                        check(child, extra, path: "\(path).\(name)", into: &found)
                    }
                }
            }
        }
        if let array = value as? [Any], let items = schema["items"] {
            for (index, child) in array.enumerated() { check(child, items, path: "\(path)[\(index)]", into: &found) }
        }
    }

    private static func isBool(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        // JSONSerialization gives booleans as NSNumbers of C type `char`; JSON numbers never are.
        return String(cString: number.objCType) == "c"
    }

    private static func matches(_ value: Any, type: String) -> Bool {
        switch type {
        case "null": return value is NSNull
        case "boolean": return isBool(value)
        case "object": return value is [String: Any]
        case "array": return value is [Any]
        case "string": return value is String
        case "number": return value is NSNumber && !isBool(value)
        case "integer":
            guard let number = value as? NSNumber, !isBool(value) else { return false }
            return number.doubleValue.rounded() == number.doubleValue
        default: return false
        }
    }

    private static func typeName(_ value: Any) -> String {
        for type in ["null", "boolean", "integer", "number", "string", "array", "object"] where matches(value, type: type) { return type }
        return "unknown"
    }

    private static func equal(_ a: Any, _ b: Any) -> Bool {
        (a as? NSObject)?.isEqual(b) ?? false
    }

    private static func render(_ value: Any) -> String {
        if let string = value as? String { return "\"\(string)\"" }
        return "\(value)"
    }
}
