import AuditModel
import Foundation

/// A reproducible stream of realistic event records, for load tests, demos and benchmarks.
///
/// The same `seed` (with the same `accountId`, `now` and `spanSeconds`) always yields the same byte
/// stream, on every platform and toolchain: the generator uses its own SplitMix64 and its own integer
/// sampling rather than the standard library's, whose algorithms may change, and it writes JSON by hand
/// in a fixed key order (no dictionary iteration order involved).
///
/// What the stream looks like:
/// - ~200 users with a Zipf-like skew (a handful of automation users make most calls), each with its
///   own `AKID...` SecretId and a few home IP addresses out of a pool of ~500;
/// - 20 products (cvm, cos, cam, vpc, ...) with their real action names, resource types and
///   resource-id shapes (`ins-xxxxxxxx`, `bucket-1250000000`, ...);
/// - 70% Read / 30% Write, ~3% `sensitiveAction` (always Write), ~5% failed calls (`apiErrorCode`,
///   and a non-zero CAM `errorCode` for authorisation failures);
/// - `eventType` ApiCall / ConsoleCall / MiniProgramCall, `eventTime` uniform in `[now - span, now]`
///   (integer Unix seconds), tags on ~20% of events.
///
/// `eventId` values are derived from the seed, so replaying a seed sends the same ids again (the server
/// stores such retries once). With `accountId == 0` the records carry no `userIdentity.accountId` and
/// the server fills in the account of the key that sends them.
public struct SyntheticEventGenerator: Sendable {
    public let accountId: Int64
    public let now: Int64
    public let spanSeconds: Int64

    private var rng: SplitMix64
    private let users: [User]
    private let userCDF: [Double]
    private let ipPool: [String]
    private let products: [Product]
    private let productCDF: [Double]
    private let resources: [[String]]  // per product, same order as `products`
    private let sensitiveProducts: [Int]

    /// - Parameters:
    ///   - seed: selects the stream; equal seeds give byte-identical streams.
    ///   - accountId: written as `userIdentity.accountId` (a decimal string); 0 leaves the field out.
    ///   - now: the newest possible `eventTime` (Unix seconds).
    ///   - spanSeconds: how far back event times reach; negative values count as 0.
    public init(seed: UInt64, accountId: Int64, now: Int64, spanSeconds: Int64) {
        self.accountId = accountId
        self.now = now
        self.spanSeconds = max(0, spanSeconds)
        // The world (users, IPs, resources) depends on the seed too, but is drawn from a separate
        // stream so that it does not shift when the per-event logic changes.
        var world = SplitMix64(seed: seed ^ 0x5EED_0F_3A57_1D)
        self.rng = SplitMix64(seed: seed)

        let ips = Self.makeIPPool(count: 500, rng: &world)
        self.ipPool = ips
        let accountString = accountId != 0 ? String(accountId) : nil
        let users = Self.makeUsers(count: 200, ips: ips, rootUin: accountString ?? "100000000001", rng: &world)
        self.users = users
        self.userCDF = Self.cdf((0..<users.count).map { 1.0 / pow(Double($0 + 1), 1.1) })

        let products = Catalogue.products
        self.products = products
        self.productCDF = Self.cdf(products.map(\.weight))
        self.resources = products.map { p in
            let n = 20 + world.uniform(180)
            return (0..<n).map { _ in p.resource.make(&world, account: accountString ?? "100000000001") }
        }
        self.sensitiveProducts = products.indices.filter { !products[$0].sensitive.isEmpty }
    }

    /// The next record, as compact JSON (one object, no trailing newline, ~600-900 bytes).
    public mutating func next() -> [UInt8] {
        let user = users[pick(userCDF)]

        // Action: 3% sensitive writes, 27% other writes, 70% reads.
        let roll = rng.double()
        let productIndex: Int
        let action: String
        let actionType: String
        var sensitive = false
        if roll < 0.03 {
            productIndex = sensitiveProducts[rng.uniform(sensitiveProducts.count)]
            action = rng.element(products[productIndex].sensitive)
            actionType = "Write"
            sensitive = true
        } else if roll < 0.30 {
            productIndex = pick(productCDF)
            action = rng.element(products[productIndex].writes)
            actionType = "Write"
        } else {
            productIndex = pick(productCDF)
            action = rng.element(products[productIndex].reads)
            actionType = "Read"
        }
        let product = products[productIndex]
        let pool = resources[productIndex]

        // Resources: mostly one, sometimes several (comma-separated in resourceName).
        let resourceCount: Int
        let r = rng.double()
        resourceCount = r < 0.08 ? 0 : (r < 0.88 ? 1 : 2 + rng.uniform(2))
        var ids: [String] = []
        for _ in 0..<resourceCount {
            // Skewed towards the first resources: a few hot instances, a long tail.
            let x = rng.double()
            let id = pool[min(pool.count - 1, Int(Double(pool.count) * x * x))]
            if !ids.contains(id) { ids.append(id) }
        }

        let eventTypeRoll = rng.double()
        let eventType = eventTypeRoll < 0.75 ? "ApiCall" : (eventTypeRoll < 0.97 ? "ConsoleCall" : "MiniProgramCall")
        let userAgent: String
        switch eventType {
        case "ApiCall": userAgent = rng.element(Catalogue.sdkAgents)
        case "ConsoleCall": userAgent = rng.element(Catalogue.browserAgents)
        default: userAgent = rng.element(Catalogue.miniProgramAgents)
        }
        let sourceIP = rng.double() < 0.85 ? rng.element(user.homeIPs) : rng.element(ipPool)
        let region = product.global ? "ap-guangzhou" : Catalogue.regions[pick(Catalogue.regionCDF)]
        let eventTime = now - (spanSeconds == 0 ? 0 : Int64(rng.next() % UInt64(spanSeconds + 1)))
        let requestID = rng.uuid()
        let eventId = rng.uuid()

        // Failures: ~5% of calls, 40% of them authorisation failures with a CAM error code.
        var errorCode = 0
        var errorMessage = ""
        var apiErrorCode = ""
        var apiErrorMessage = ""
        if rng.double() < 0.05 {
            if rng.double() < 0.4 {
                apiErrorCode = "AuthFailure.UnauthorizedOperation"
                errorCode = 4102
                errorMessage = "you are not authorized to perform operation (\(product.name):\(action))"
                apiErrorMessage = "The request is not authorized. Check the CAM policies of the sub-account."
            } else {
                let e = rng.element(product.errors + Catalogue.commonErrors)
                apiErrorCode = e.code
                apiErrorMessage = e.message
            }
        }

        var tags: [(String, String)] = []
        if rng.double() < 0.2 {
            tags.append(("env", rng.element(["prod", "prod", "staging", "dev"])))
            if rng.double() < 0.4 { tags.append(("team", rng.element(Catalogue.teams))) }
        }

        // requestParameters / responseElements: small JSON documents, stored as strings.
        var params = JSONWriter()
        params.beginObject()
        if !product.global { params.key("Region"); params.string(region) }
        if !ids.isEmpty { params.key(product.idParameter); params.stringArray(ids) }
        if actionType == "Read" && ids.count != 1 {
            params.key("Offset"); params.int(0)
            params.key("Limit"); params.int([10, 20, 50, 100][rng.uniform(4)])
        }
        params.endObject()

        var response = JSONWriter()
        response.beginObject()
        if !apiErrorCode.isEmpty {
            response.key("Error"); response.beginObject()
            response.key("Code"); response.string(apiErrorCode)
            response.key("Message"); response.string(apiErrorMessage)
            response.endObject()
        } else if actionType == "Read" {
            response.key("TotalCount"); response.int(ids.isEmpty ? rng.uniform(40) : ids.count)
        }
        response.endObject()

        var w = JSONWriter(capacity: 1024)
        w.beginObject()
        w.key("eventVersion"); w.string("1")
        w.key("eventId"); w.string(eventId)
        w.key("eventTime"); w.int(eventTime)
        w.key("eventName"); w.string(action)
        w.key("eventSource"); w.string("\(product.name).tencentcloudapi.com")
        w.key("eventType"); w.string(eventType)
        w.key("eventRegion"); w.string(region)
        w.key("actionType"); w.string(actionType)
        w.key("sensitiveAction"); w.bool(sensitive)
        w.key("resourceType"); w.string(product.resourceType)
        w.key("resourceName"); w.string(ids.joined(separator: ","))
        w.key("resourceSet"); w.stringArray(ids)
        w.key("userIdentity"); w.beginObject()
        w.key("type"); w.string(user.type)
        w.key("principalId"); w.string(user.principalId)
        if accountId != 0 { w.key("accountId"); w.string(String(accountId)) }
        w.key("secretId"); w.string(user.secretId)
        w.key("userName"); w.string(user.userName)
        w.endObject()
        w.key("sourceIPAddress"); w.string(sourceIP)
        w.key("userAgent"); w.string(userAgent)
        w.key("httpMethod"); w.string(eventType == "ApiCall" && actionType == "Read" && rng.double() < 0.1 ? "GET" : "POST")
        w.key("apiVersion"); w.string(product.apiVersion)
        w.key("requestID"); w.string(requestID)
        w.key("requestParameters"); w.string(params.text)
        w.key("responseElements"); w.string(response.text)
        w.key("errorCode"); w.int(errorCode)
        if !errorMessage.isEmpty { w.key("errorMessage"); w.string(errorMessage) }
        w.key("apiErrorCode"); w.string(apiErrorCode)
        if !apiErrorMessage.isEmpty { w.key("apiErrorMessage"); w.string(apiErrorMessage) }
        if !tags.isEmpty {
            w.key("tags"); w.beginArray()
            for (k, v) in tags {
                w.beginObject(); w.key("key"); w.string(k); w.key("value"); w.string(v); w.endObject()
            }
            w.endArray()
        }
        w.endObject()
        return w.bytes
    }

    // MARK: - Sampling helpers

    private mutating func pick(_ cdf: [Double]) -> Int {
        let x = rng.double() * cdf[cdf.count - 1]
        var lo = 0, hi = cdf.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cdf[mid] > x { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    private static func cdf(_ weights: [Double]) -> [Double] {
        var total = 0.0
        return weights.map { total += $0; return total }
    }

    // MARK: - The world

    struct User: Sendable {
        var userName: String
        var type: String
        var principalId: String
        var secretId: String
        var homeIPs: [String]
    }

    private static func makeIPPool(count: Int, rng: inout SplitMix64) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        while out.count < count {
            let ip: String
            let kind = rng.double()
            if kind < 0.25 {
                ip = "10.\(rng.uniform(256)).\(rng.uniform(256)).\(1 + rng.uniform(254))"
            } else if kind < 0.35 {
                ip = "172.\(16 + rng.uniform(16)).\(rng.uniform(256)).\(1 + rng.uniform(254))"
            } else {
                // Public-looking unicast space, avoiding the private and reserved first octets.
                var a = 1 + rng.uniform(222)
                while [10, 100, 127, 169, 172, 192].contains(a) { a = 1 + rng.uniform(222) }
                ip = "\(a).\(rng.uniform(256)).\(rng.uniform(256)).\(1 + rng.uniform(254))"
            }
            if seen.insert(ip).inserted { out.append(ip) }
        }
        return out
    }

    private static func makeUsers(count: Int, ips: [String], rootUin: String, rng: inout SplitMix64) -> [User] {
        func home() -> [String] { (0..<(1 + rng.uniform(3))).map { _ in ips[rng.uniform(ips.count)] } }
        func uin() -> String { String(100_000_000_000 + rng.uniform(900_000_000)) }
        func akid() -> String { "AKID" + rng.alphanumeric(32) }

        var users: [User] = []
        // The busiest principals are automation: they head the Zipf ranking.
        for name in Catalogue.serviceUsers {
            users.append(User(userName: name, type: "CAMUser", principalId: uin(), secretId: akid(), homeIPs: home()))
        }
        users.insert(User(userName: "root", type: "root", principalId: rootUin, secretId: akid(), homeIPs: home()), at: 2)
        var names = Set(users.map(\.userName))
        while users.count < count {
            let first = rng.element(Catalogue.firstNames), last = rng.element(Catalogue.lastNames)
            var name = "\(first).\(last)"
            if names.contains(name) { name += String(2 + rng.uniform(98)) }
            guard names.insert(name).inserted else { continue }
            let isRole = rng.double() < 0.08
            users.append(User(userName: isRole ? "\(rng.element(Catalogue.roleNames))/\(name)" : name,
                              type: isRole ? "AssumedRole" : "CAMUser",
                              principalId: uin(), secretId: akid(), homeIPs: home()))
        }
        // Keep automation at the top, shuffle the humans so that ranks do not follow name order.
        var humans = Array(users[(Catalogue.serviceUsers.count + 1)...])
        for i in stride(from: humans.count - 1, to: 0, by: -1) { humans.swapAt(i, rng.uniform(i + 1)) }
        return Array(users[..<(Catalogue.serviceUsers.count + 1)]) + humans
    }
}

// MARK: - PRNG

extension SyntheticEventGenerator {
    /// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and identical everywhere. Also the seeded
    /// generator of the randomized tests, so that they replay the same cases.
    public struct SplitMix64: RandomNumberGenerator, Sendable {
        private var state: UInt64

        public init(seed: UInt64) { state = seed }

        public mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        /// Uniform in `0..<n` (Lemire's multiply-high; the bias for n << 2^64 is negligible here).
        mutating func uniform(_ n: Int) -> Int {
            precondition(n > 0)
            return Int(next().multipliedFullWidth(by: UInt64(n)).high)
        }

        /// Uniform in `[0, 1)`.
        mutating func double() -> Double { Double(next() >> 11) * 0x1p-53 }

        mutating func element<T>(_ array: [T]) -> T { array[uniform(array.count)] }

        mutating func alphanumeric(_ count: Int) -> String {
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
            return String(decoding: (0..<count).map { _ in alphabet[uniform(alphabet.count)] }, as: UTF8.self)
        }

        mutating func lowerAlphanumeric(_ count: Int) -> String {
            let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
            return String(decoding: (0..<count).map { _ in alphabet[uniform(alphabet.count)] }, as: UTF8.self)
        }

        /// A random (version 4) UUID string in lower case, drawn from this stream.
        mutating func uuid() -> String {
            let a = next(), b = next()
            var bytes = [UInt8](repeating: 0, count: 16)
            for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: a >> (8 * UInt64(i))) }
            for i in 0..<8 { bytes[8 + i] = UInt8(truncatingIfNeeded: b >> (8 * UInt64(i))) }
            bytes[6] = (bytes[6] & 0x0F) | 0x40
            bytes[8] = (bytes[8] & 0x3F) | 0x80
            let hex = Array("0123456789abcdef".utf8)
            var out: [UInt8] = []
            out.reserveCapacity(36)
            for (i, byte) in bytes.enumerated() {
                if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}

// MARK: - Compact JSON writer

extension SyntheticEventGenerator {
    /// Writes compact JSON in the order it is told; escapes strings per RFC 8259.
    struct JSONWriter {
        private(set) var bytes: [UInt8] = []
        private var first: [Bool] = []  // per open container: nothing written in it yet
        private var afterKey = false

        init(capacity: Int = 128) { bytes.reserveCapacity(capacity) }

        var text: String { String(decoding: bytes, as: UTF8.self) }

        mutating func key(_ k: String) {
            comma()
            appendString(k)
            bytes.append(UInt8(ascii: ":"))
            afterKey = true
        }

        mutating func beginObject() { open(UInt8(ascii: "{")) }
        mutating func endObject() { close(UInt8(ascii: "}")) }
        mutating func beginArray() { open(UInt8(ascii: "[")) }
        mutating func endArray() { close(UInt8(ascii: "]")) }

        mutating func string(_ s: String) { prepareValue(); appendString(s) }
        mutating func int<I: BinaryInteger>(_ v: I) { prepareValue(); bytes.append(contentsOf: String(v).utf8) }
        mutating func bool(_ v: Bool) { prepareValue(); bytes.append(contentsOf: (v ? "true" : "false").utf8) }

        mutating func stringArray(_ values: [String]) {
            beginArray()
            for v in values { string(v) }
            endArray()
        }

        private mutating func comma() {
            guard let last = first.indices.last else { return }
            if !first[last] { bytes.append(UInt8(ascii: ",")) }
            first[last] = false
        }

        /// After a key nothing goes before the value; between array elements, a comma.
        private mutating func prepareValue() {
            if afterKey { afterKey = false } else { comma() }
        }

        private mutating func open(_ b: UInt8) {
            prepareValue()
            bytes.append(b)
            first.append(true)
        }

        private mutating func close(_ b: UInt8) {
            first.removeLast()
            bytes.append(b)
        }

        private mutating func appendString(_ s: String) {
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(UInt8(ascii: "\""))
            for b in s.utf8 {
                switch b {
                case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0..<0x20:
                    bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0x0F)]])
                default: bytes.append(b)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }
    }
}

// MARK: - Catalogue

extension SyntheticEventGenerator {
    struct APIErrorSample: Sendable {
        var code: String
        var message: String
    }

    /// How a product names its resources.
    enum ResourceShape: Sendable {
        case prefixed(String)  // ins-xxxxxxxx
        case bucket  // name-1250000000
        case camPrincipal  // qcs::cam::uin/<account>:roleName/<name>
        case uuid  // kms keys, cls topics
        case domain  // static.example.com
        case function  // order-handler
        case certificate  // 8 mixed-case characters

        func make(_ rng: inout SplitMix64, account: String) -> String {
            switch self {
            case .prefixed(let p): return p + rng.lowerAlphanumeric(8)
            case .bucket: return "\(rng.element(Catalogue.words))-\(rng.element(Catalogue.words))\(rng.uniform(10))-1250000000"
            case .camPrincipal:
                let kind = rng.element(["roleName", "roleName", "uid", "policy"])
                return "qcs::cam::uin/\(account):\(kind)/\(rng.element(Catalogue.words))-\(rng.element(Catalogue.roleNames))"
            case .uuid: return rng.uuid()
            case .domain: return "\(rng.element(Catalogue.words))\(rng.uniform(10)).\(rng.element(Catalogue.domains))"
            case .function: return "\(rng.element(Catalogue.words))-\(rng.element(["handler", "worker", "sync", "cron", "api", "hook"]))"
            case .certificate: return rng.alphanumeric(8)
            }
        }
    }

    struct Product: Sendable {
        var name: String
        var resourceType: String
        var apiVersion: String
        var weight: Double
        var global: Bool
        var idParameter: String
        var resource: ResourceShape
        var reads: [String]
        var writes: [String]
        var sensitive: [String]
        var errors: [APIErrorSample]
    }

    enum Catalogue {
        static let products: [Product] = [
            Product(name: "cvm", resourceType: "cvm", apiVersion: "2017-03-12", weight: 16, global: false,
                    idParameter: "InstanceIds", resource: .prefixed("ins-"),
                    reads: ["DescribeInstances", "DescribeInstances", "DescribeInstancesStatus", "DescribeImages", "DescribeKeyPairs", "DescribeZoneInstanceConfigInfos"],
                    writes: ["RunInstances", "StartInstances", "StopInstances", "RebootInstances", "ModifyInstancesAttribute", "CreateImage"],
                    sensitive: ["TerminateInstances", "ResetInstance", "ResetInstancesPassword"],
                    errors: [APIErrorSample(code: "InvalidInstanceId.NotFound", message: "The specified instance does not exist."),
                             APIErrorSample(code: "ResourceInsufficient.SpecifiedInstanceType", message: "The specified instance type is sold out in this zone."),
                             APIErrorSample(code: "LimitExceeded.InstanceQuota", message: "The instance quota of this region is used up.")]),
            Product(name: "cos", resourceType: "cos", apiVersion: "2018-11-26", weight: 18, global: false,
                    idParameter: "Bucket", resource: .bucket,
                    reads: ["GetObject", "GetObject", "HeadObject", "ListObjects", "GetBucketAcl", "GetBucketPolicy", "ListMultipartUploads"],
                    writes: ["PutObject", "PutObject", "PostObject", "CopyObject", "PutBucketLifecycle", "PutBucketCors", "InitiateMultipartUpload"],
                    sensitive: ["DeleteBucket", "PutBucketAcl", "PutBucketPolicy", "DeleteBucketPolicy"],
                    errors: [APIErrorSample(code: "NoSuchKey", message: "The specified key does not exist."),
                             APIErrorSample(code: "ResourceNotFound.BucketNotFound", message: "The specified bucket does not exist.")]),
            Product(name: "cam", resourceType: "cam", apiVersion: "2019-01-16", weight: 7, global: true,
                    idParameter: "RoleName", resource: .camPrincipal,
                    reads: ["GetRole", "ListUsers", "ListAttachedRolePolicies", "GetPolicy", "ListPolicies", "DescribeRoleList", "GetUser"],
                    writes: ["CreateRole", "CreatePolicy", "UpdatePolicy", "AddUserToGroup", "UpdateRoleDescription", "CreateGroup"],
                    sensitive: ["AttachRolePolicy", "AttachUserPolicy", "DeleteUser", "CreateAccessKey", "DeleteRole", "UpdateAssumeRolePolicy"],
                    errors: [APIErrorSample(code: "ResourceNotFound.RoleNotExist", message: "The role does not exist."),
                             APIErrorSample(code: "InvalidParameter.PolicyDocumentError", message: "The policy document is malformed.")]),
            Product(name: "vpc", resourceType: "vpc", apiVersion: "2017-03-12", weight: 8, global: false,
                    idParameter: "VpcIds", resource: .prefixed("vpc-"),
                    reads: ["DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroups", "DescribeSecurityGroupPolicies", "DescribeRouteTables", "DescribeAddresses"],
                    writes: ["CreateVpc", "CreateSubnet", "CreateSecurityGroupPolicies", "ModifySecurityGroupPolicies", "AllocateAddresses", "AssociateAddress"],
                    sensitive: ["DeleteVpc", "DeleteSecurityGroup", "ReplaceSecurityGroupPolicy", "ReleaseAddresses"],
                    errors: [APIErrorSample(code: "ResourceNotFound", message: "The VPC does not exist."),
                             APIErrorSample(code: "ResourceInUse", message: "The resource is in use by other instances.")]),
            Product(name: "cbs", resourceType: "cbs", apiVersion: "2017-03-12", weight: 4, global: false,
                    idParameter: "DiskIds", resource: .prefixed("disk-"),
                    reads: ["DescribeDisks", "DescribeSnapshots", "DescribeDiskConfigQuota"],
                    writes: ["CreateDisks", "AttachDisks", "DetachDisks", "CreateSnapshot", "ResizeDisk"],
                    sensitive: ["TerminateDisks", "DeleteSnapshots"],
                    errors: [APIErrorSample(code: "InvalidDisk.NotSupported", message: "The disk does not support this operation.")]),
            Product(name: "cdb", resourceType: "cdb", apiVersion: "2017-03-20", weight: 5, global: false,
                    idParameter: "InstanceIds", resource: .prefixed("cdb-"),
                    reads: ["DescribeDBInstances", "DescribeBackups", "DescribeDatabases", "DescribeSlowLogs", "DescribeAccounts"],
                    writes: ["CreateDBInstance", "ModifyDBInstanceName", "CreateBackup", "ModifyAccountPrivileges", "UpgradeDBInstance"],
                    sensitive: ["IsolateDBInstance", "ModifyAccountPassword", "DeleteAccounts"],
                    errors: [APIErrorSample(code: "ResourceNotFound.InstanceNotFoundError", message: "The database instance does not exist.")]),
            Product(name: "clb", resourceType: "clb", apiVersion: "2018-03-17", weight: 4, global: false,
                    idParameter: "LoadBalancerIds", resource: .prefixed("lb-"),
                    reads: ["DescribeLoadBalancers", "DescribeListeners", "DescribeTargets", "DescribeTargetHealth"],
                    writes: ["CreateListener", "RegisterTargets", "DeregisterTargets", "ModifyListener", "CreateRule"],
                    sensitive: ["DeleteLoadBalancer", "DeleteListener"],
                    errors: [APIErrorSample(code: "InvalidParameter.LBIdNotFound", message: "The load balancer does not exist.")]),
            Product(name: "tke", resourceType: "tke", apiVersion: "2018-05-25", weight: 5, global: false,
                    idParameter: "ClusterIds", resource: .prefixed("cls-"),
                    reads: ["DescribeClusters", "DescribeClusterInstances", "DescribeClusterNodePools", "DescribeClusterStatus"],
                    writes: ["CreateClusterNodePool", "ModifyClusterNodePool", "AddExistedInstances", "UpdateClusterVersion"],
                    sensitive: ["DeleteCluster", "DeleteClusterInstances", "DeleteClusterNodePool"],
                    errors: [APIErrorSample(code: "ResourceNotFound.ClusterNotFound", message: "The cluster does not exist.")]),
            Product(name: "scf", resourceType: "scf", apiVersion: "2018-04-16", weight: 6, global: false,
                    idParameter: "FunctionName", resource: .function,
                    reads: ["ListFunctions", "GetFunction", "GetFunctionLogs", "ListTriggers"],
                    writes: ["Invoke", "Invoke", "CreateFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration", "CreateTrigger"],
                    sensitive: ["DeleteFunction"],
                    errors: [APIErrorSample(code: "ResourceNotFound.Function", message: "The function does not exist."),
                             APIErrorSample(code: "FailedOperation.InvokeFunction", message: "The function returned an error.")]),
            Product(name: "redis", resourceType: "redis", apiVersion: "2018-04-12", weight: 4, global: false,
                    idParameter: "InstanceId", resource: .prefixed("crs-"),
                    reads: ["DescribeInstances", "DescribeInstanceParams", "DescribeSlowLog", "DescribeInstanceMonitorBigKey"],
                    writes: ["CreateInstances", "ModifyInstanceParams", "UpgradeInstance", "ModifyInstance"],
                    sensitive: ["ClearInstance", "DestroyPostpaidInstance", "ResetPassword"],
                    errors: [APIErrorSample(code: "ResourceNotFound.InstanceNotExists", message: "The instance does not exist.")]),
            Product(name: "cls", resourceType: "cls", apiVersion: "2020-10-16", weight: 4, global: false,
                    idParameter: "TopicId", resource: .uuid,
                    reads: ["DescribeTopics", "SearchLog", "SearchLog", "DescribeLogsets", "DescribeIndex"],
                    writes: ["CreateTopic", "ModifyTopic", "CreateIndex", "CreateShipper"],
                    sensitive: ["DeleteTopic", "DeleteLogset"],
                    errors: [APIErrorSample(code: "ResourceNotFound.TopicNotExist", message: "The log topic does not exist.")]),
            Product(name: "kms", resourceType: "kms", apiVersion: "2019-01-18", weight: 4, global: false,
                    idParameter: "KeyId", resource: .uuid,
                    reads: ["ListKeys", "DescribeKey", "Decrypt", "Encrypt", "GenerateDataKey", "GetPublicKey"],
                    writes: ["CreateKey", "EnableKeyRotation", "UpdateAlias", "UpdateKeyDescription"],
                    sensitive: ["ScheduleKeyDeletion", "DisableKey"],
                    errors: [APIErrorSample(code: "ResourceUnavailable.CmkNotFound", message: "The key does not exist."),
                             APIErrorSample(code: "ResourceUnavailable.CmkDisabled", message: "The key is disabled.")]),
            Product(name: "ssl", resourceType: "ssl", apiVersion: "2019-12-05", weight: 2, global: true,
                    idParameter: "CertificateId", resource: .certificate,
                    reads: ["DescribeCertificates", "DescribeCertificateDetail", "DescribeCertificate"],
                    writes: ["UploadCertificate", "ApplyCertificate", "ModifyCertificateAlias"],
                    sensitive: ["DeleteCertificate", "RevokeCertificate"],
                    errors: [APIErrorSample(code: "FailedOperation.CertificateNotFound", message: "The certificate does not exist.")]),
            Product(name: "cdn", resourceType: "cdn", apiVersion: "2018-06-06", weight: 4, global: true,
                    idParameter: "Domains", resource: .domain,
                    reads: ["DescribeDomains", "DescribeCdnData", "DescribePurgeTasks", "DescribeDomainsConfig"],
                    writes: ["PurgeUrlsCache", "PurgePathCache", "PushUrlsCache", "UpdateDomainConfig", "AddCdnDomain"],
                    sensitive: ["DeleteCdnDomain", "StopCdnDomain"],
                    errors: [APIErrorSample(code: "ResourceNotFound.CdnHostNotExists", message: "The domain is not connected to CDN.")]),
            Product(name: "postgres", resourceType: "postgres", apiVersion: "2017-03-12", weight: 2, global: false,
                    idParameter: "DBInstanceIdSet", resource: .prefixed("postgres-"),
                    reads: ["DescribeDBInstances", "DescribeDBBackups", "DescribeAccounts"],
                    writes: ["CreateDBInstances", "ModifyDBInstanceName", "CreateReadOnlyDBInstance"],
                    sensitive: ["DestroyDBInstance", "ResetAccountPassword"],
                    errors: [APIErrorSample(code: "ResourceNotFound.InstanceNotFoundError", message: "The instance does not exist.")]),
            Product(name: "mongodb", resourceType: "mongodb", apiVersion: "2019-07-25", weight: 2, global: false,
                    idParameter: "InstanceIds", resource: .prefixed("cmgo-"),
                    reads: ["DescribeDBInstances", "DescribeSlowLogs", "DescribeDBBackups"],
                    writes: ["CreateDBInstance", "RenameInstance", "CreateBackupDBInstance"],
                    sensitive: ["IsolateDBInstance", "ResetDBInstancePassword"],
                    errors: [APIErrorSample(code: "InvalidParameterValue.NotFoundInstance", message: "The instance does not exist.")]),
            Product(name: "ckafka", resourceType: "ckafka", apiVersion: "2019-08-19", weight: 2, global: false,
                    idParameter: "InstanceId", resource: .prefixed("ckafka-"),
                    reads: ["DescribeInstances", "DescribeTopic", "DescribeGroup", "DescribeConsumerGroup"],
                    writes: ["CreateTopic", "ModifyInstanceAttributes", "CreatePartition"],
                    sensitive: ["DeleteTopic", "DeleteAclRule"],
                    errors: [APIErrorSample(code: "ResourceNotFound", message: "The instance does not exist.")]),
            Product(name: "cfs", resourceType: "cfs", apiVersion: "2019-07-19", weight: 1, global: false,
                    idParameter: "FileSystemId", resource: .prefixed("cfs-"),
                    reads: ["DescribeCfsFileSystems", "DescribeMountTargets"],
                    writes: ["CreateCfsFileSystem", "UpdateCfsFileSystemName", "UpdateCfsFileSystemSizeLimit"],
                    sensitive: ["DeleteCfsFileSystem"],
                    errors: [APIErrorSample(code: "ResourceNotFound.FileSystemNotFound", message: "The file system does not exist.")]),
            Product(name: "dnspod", resourceType: "dnspod", apiVersion: "2021-03-23", weight: 2, global: true,
                    idParameter: "Domain", resource: .domain,
                    reads: ["DescribeRecordList", "DescribeDomainList", "DescribeRecord"],
                    writes: ["CreateRecord", "ModifyRecord", "ModifyRecordStatus"],
                    sensitive: ["DeleteRecord", "DeleteDomain"],
                    errors: [APIErrorSample(code: "ResourceNotFound.NoDataOfRecord", message: "The record list is empty.")]),
            Product(name: "monitor", resourceType: "monitor", apiVersion: "2018-07-24", weight: 4, global: false,
                    idParameter: "PolicyIds", resource: .prefixed("policy-"),
                    reads: ["GetMonitorData", "GetMonitorData", "DescribeAlarmPolicies", "DescribeAlarmHistories"],
                    writes: ["CreateAlarmPolicy", "ModifyAlarmPolicyStatus", "ModifyAlarmPolicyCondition"],
                    sensitive: ["DeleteAlarmPolicy"],
                    errors: [APIErrorSample(code: "ResourceNotFound", message: "The alarm policy does not exist.")]),
        ]

        static let commonErrors: [APIErrorSample] = [
            APIErrorSample(code: "ResourceNotFound.InstanceNotFound", message: "The instance does not exist."),
            APIErrorSample(code: "InvalidParameterValue", message: "The value of a parameter is invalid."),
            APIErrorSample(code: "MissingParameter", message: "A required parameter is missing."),
            APIErrorSample(code: "RequestLimitExceeded", message: "Too many requests; retry later."),
            APIErrorSample(code: "LimitExceeded", message: "A quota is exceeded."),
            APIErrorSample(code: "ResourceInUse", message: "The resource is in use."),
            APIErrorSample(code: "OperationDenied", message: "The operation is denied in the current state."),
            APIErrorSample(code: "InternalError", message: "An internal error occurred; retry later."),
        ]

        static let regions = ["ap-guangzhou", "ap-shanghai", "ap-beijing", "ap-chengdu", "ap-nanjing",
                              "ap-hongkong", "ap-singapore", "na-siliconvalley", "eu-frankfurt", "ap-tokyo"]
        static let regionCDF: [Double] = {
            var t = 0.0
            return [30.0, 25, 18, 6, 5, 5, 4, 3, 2, 2].map { t += $0; return t }
        }()

        static let serviceUsers = ["terraform-ci", "deploy-bot", "monitor-agent", "backup-job", "k8s-autoscaler"]
        static let roleNames = ["ops-admin", "readonly", "tke-node", "scf-exec", "cos-writer", "audit-reader", "dba"]
        static let teams = ["payments", "search", "infra", "data", "mobile", "growth"]
        static let firstNames = ["wei", "fang", "min", "jing", "lei", "yan", "tao", "ming", "hui", "jun",
                                 "xin", "ling", "hao", "yu", "chen", "qiang", "li", "na", "bo", "ying",
                                 "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
                                 "ken", "liam", "mia", "noah", "olga", "paul", "quinn", "rosa", "sam", "tina"]
        static let lastNames = ["wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou",
                                "xu", "sun", "ma", "zhu", "hu", "guo", "he", "lin", "luo", "gao",
                                "smith", "jones", "brown", "garcia", "miller", "davis", "lopez", "wilson", "tan", "ng"]
        static let words = ["orders", "billing", "assets", "media", "logs", "backup", "static", "images", "reports", "users",
                            "search", "pay", "auth", "catalog", "events", "metrics", "archive", "upload", "cache", "mail"]
        static let domains = ["example.com", "example-shop.cn", "demo-app.net", "acme-corp.com"]

        static let sdkAgents = [
            "TencentCloud-SDK-Python/3.0.1254", "TencentCloud-SDK-Go/1.0.1012", "TencentCloud-SDK-Java/3.1.1080",
            "TencentCloud-SDK-NodeJS/4.0.890", "tccli/3.0.1254.1", "Terraform/1.9.8 terraform-provider-tencentcloud/1.81.140",
            "cos-python-sdk-v5/1.9.33", "cos-go-sdk-v5/0.7.55", "kubernetes/v1.30.0 tke-cloud-controller-manager",
        ]
        static let browserAgents = [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
            "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 Edg/129.0.0.0",
        ]
        static let miniProgramAgents = [
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50 MiniProgramEnv/iOS",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36 MicroMessenger/8.0.49 MiniProgramEnv/android",
        ]
    }
}
