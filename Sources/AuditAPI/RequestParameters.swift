import AuditModel
import Foundation

/// The parameters of one call, from a JSON body or from a GET query string, with typed readers that
/// fail with the documented error codes.
public struct RequestParameters: Sendable {
    public let root: JSONObject
    /// The raw body (PutEvents keeps records byte-exact from it).
    public let body: [UInt8]
    /// True when the parameters came from a GET query string (no body, every value a string).
    public let fromQueryString: Bool

    public init(root: JSONObject, body: [UInt8], fromQueryString: Bool = false) {
        self.root = root
        self.body = body
        self.fromQueryString = fromQueryString
    }

    /// Parses a POST body; an empty body is an empty object.
    public static func fromBody(_ body: [UInt8]) throws -> RequestParameters {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw APIError.invalidBody("it is empty; send a JSON object such as {}")
        }
        let value: JSONValue
        do { value = try JSONParser.parse(body) } catch let e as JSONParseError { throw APIError.invalidBody(e.description) }
        guard case .object(let o) = value else { throw APIError.invalidBody("the body must be a JSON object, not \(value.typeName)") }
        return RequestParameters(root: o, body: body)
    }

    /// How many parameters a GET query string may carry: the largest call (a tracking set with 50
    /// lookup conditions, or many event names) needs a few hundred.
    public static let maxQueryParameters = 1000
    /// How many dot-separated parts a parameter name may have (`Filters.ResourceFields.0.EventNames.1`
    /// has five).
    public static let maxQueryNameDepth = 8

    /// Parses a query string in the API 3.0 GET form (`LookupAttributes.0.AttributeKey=...`).
    /// Values stay strings; readers accept numeric strings where numbers are expected. Whether the
    /// parameters came from a query string is kept (`fromQueryString`), for the actions that need a body.
    ///
    /// Runs before authentication, so its work is bounded by the limits above whatever the input.
    /// - Throws: `InvalidParameter` when a name has more than `maxQueryNameDepth` parts or there are
    ///   more than `maxQueryParameters` parameters.
    public static func fromQuery(_ query: String) throws -> RequestParameters {
        final class Node {
            var value: String?
            var children: [(String, Node)] = []
            var index: [String: Int] = [:]
            func child(_ k: String) -> Node {
                if let i = index[k] { return children[i].1 }
                let n = Node()
                index[k] = children.count
                children.append((k, n))
                return n
            }
            /// Recursion depth is at most `maxQueryNameDepth`.
            func json() -> JSONValue {
                if children.isEmpty { return .string(value ?? "") }
                let indices = children.map { UInt32($0.0) }
                if indices.allSatisfy({ $0 != nil }) {
                    return .array(zip(indices, children).sorted { $0.0! < $1.0! }.map { $0.1.1.json() })
                }
                return .object(JSONObject(fields: children.map { (key: $0.0, value: $0.1.json()) }))
            }
        }
        let root = Node()
        var count = 0
        for pair in query.split(separator: "&") where !pair.isEmpty {
            count += 1
            if count > maxQueryParameters {
                throw APIError.tooManyQueryParameters(limit: maxQueryParameters)
            }
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = percentDecode(String(parts[0]))
            let segments = key.split(separator: ".", omittingEmptySubsequences: false)
            if segments.count > maxQueryNameDepth {
                throw APIError.queryNameTooDeep(key, limit: maxQueryNameDepth)
            }
            let value = parts.count > 1 ? percentDecode(String(parts[1])) : ""
            var node = root
            for segment in segments { node = node.child(String(segment)) }
            node.value = value
        }
        let obj = root.json().objectValue ?? JSONObject(fields: [])
        return RequestParameters(root: obj, body: [], fromQueryString: true)
    }

    static func percentDecode(_ s: String) -> String {
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "+") { bytes.append(0x20); continue }
            if c == UInt8(ascii: "%"), it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v)
                it = it.dropFirst(2)
                continue
            }
            bytes.append(c)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public subscript(name: String) -> JSONValue? {
        guard let v = root[name], v != .null else { return nil }
        return v
    }

    /// An integer parameter (JSON integer, or a string of digits as GET sends).
    public func integer(_ name: String) throws -> Int64? {
        guard let v = self[name] else { return nil }
        switch v {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 9e15: return Int64(d)
        case .string(let s):
            if let i = Int64(s.trimmingCharacters(in: .whitespaces)) { return i }
            throw APIError.wrongType(name, expected: "an integer", got: "\"\(APIError.clip(s))\"")
        default: throw APIError.wrongType(name, expected: "an integer", got: v.typeName)
        }
    }

    public func string(_ name: String) throws -> String? {
        guard let v = self[name] else { return nil }
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        default: throw APIError.wrongType(name, expected: "a string", got: v.typeName)
        }
    }

    public func array(_ name: String) throws -> [JSONValue]? {
        guard let v = self[name] else { return nil }
        guard case .array(let a) = v else { throw APIError.wrongType(name, expected: "an array", got: v.typeName) }
        return a
    }

    /// A nested object parameter (`Storage`, `Filters`), read with the same typed readers.
    public func object(_ name: String) throws -> RequestParameters? {
        guard let v = self[name] else { return nil }
        guard case .object(let o) = v else { throw APIError.wrongType(name, expected: "an object", got: v.typeName) }
        return RequestParameters(root: o, body: [], fromQueryString: fromQueryString)
    }

    /// A list of strings (`EventNames`).
    public func stringList(_ name: String) throws -> [String]? {
        guard let items = try array(name) else { return nil }
        return try items.enumerated().map { i, v in
            guard case .string(let s) = v else { throw APIError.wrongType("\(name).\(i)", expected: "a string", got: v.typeName) }
            return s
        }
    }

    /// A 0/1 switch (`Status`, `IsCreateNewBucket`...).
    public func flag(_ name: String, meaning: String = "1 for yes or 0 for no") throws -> Bool? {
        guard let v = try integer(name) else { return nil }
        guard v == 0 || v == 1 else { throw APIError.invalidValue(name, "use \(meaning) (got \(v))") }
        return v == 1
    }

    /// Unix-second time parameters, with the codes of the query actions.
    public func time(_ name: String) throws -> Int64 {
        guard let v = self[name] else { throw APIError.timeMissing(name) }
        switch v {
        case .int(let i): return i
        case .string(let s): if let i = Int64(s) { return i }
        default: break
        }
        throw APIError.timeMissing(name)
    }
}
