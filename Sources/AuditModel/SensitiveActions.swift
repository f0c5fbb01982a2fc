import Foundation

/// The operations counted as sensitive when a producer does not say (issue 15): `PutEvents` records
/// `"sensitiveAction": true` in front of a record that leaves the field out and names one of them, so the
/// stored record, `SensitiveAction` lookups, tracking sets and alert rules all see it. A producer's own
/// `sensitiveAction` (true or false) is kept as sent.
public struct SensitiveActions: Sendable, Equatable {
    /// Operations that change who may do what, remove data or protection, or blind the audit trail,
    /// across the products the console names (CAM, COS, CVM, VPC, databases, KMS, CloudAudit itself).
    public static let builtIn: [String] = [
        // identity and access
        "CreateUser", "DeleteUser", "AddUser", "CreateAccessKey", "DeleteAccessKey", "UpdateAccessKey", "AttachUserPolicy",
        "AttachRolePolicy", "AttachGroupPolicy", "DetachUserPolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion",
        "CreateRole", "DeleteRole", "UpdateAssumeRolePolicy", "SetMfaFlag", "UpdateUser", "ConsoleLoginPasswordChange",
        // data and storage
        "DeleteBucket", "PutBucketAcl", "PutBucketPolicy", "DeleteBucketPolicy", "PutBucketCors", "DeleteBucketEncryption",
        "PutBucketVersioning", "DeleteObjects",
        // compute, network, databases
        "TerminateInstances", "ResetInstancesPassword", "ModifyInstancesAttribute", "DeleteSecurityGroup",
        "ModifySecurityGroupPolicies", "CreateSecurityGroupPolicies", "DeleteVpc", "DeleteDBInstance", "IsolateDBInstance",
        "ResetAccountPassword", "DeleteCluster",
        // keys and secrets
        "DisableKey", "ScheduleKeyDeletion", "DeleteSecret", "PutSecretValue",
        // the audit trail itself
        "DeleteAuditTrack", "ModifyAuditTrack", "StopLogging", "DeleteAudit", "UpdateAudit", "DeleteAlertRule", "ModifyAlertRule",
        "DeleteAlertChannel",
    ]

    /// Event names, and `eventSource:eventName` pairs for an operation of one product only.
    public let entries: Set<String>

    public init(entries: some Sequence<String>) {
        self.entries = Set(entries)
    }

    public static let standard = SensitiveActions(entries: builtIn)

    public func contains(eventName: String, eventSource: String) -> Bool {
        entries.contains(eventName) || entries.contains(eventSource + ":" + eventName)
    }

    /// The built-in list and an operator's file: one entry per line (`EventName` or
    /// `eventSource:EventName`), `#` comments and blank lines ignored, a leading `-` removing an entry.
    /// Returns why a line is refused (with its number), or the catalogue.
    public static func withFile(_ text: String) -> Result<SensitiveActions, RecordRejection> {
        var entries = Set(builtIn)
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let remove = line.hasPrefix("-")
            if remove { line = String(line.dropFirst()).trimmingCharacters(in: .whitespaces) }
            guard !line.isEmpty, line.utf8.count <= 257, line.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }),
                  line.split(separator: ":", omittingEmptySubsequences: false).count <= 2, !line.hasPrefix(":"), !line.hasSuffix(":") else {
                return .failure(RecordRejection("InvalidParameterValue",
                                                "line \(i + 1): \"\(TextClip.scalars(line, 64, printable: true))\" is not an event name or eventSource:EventName"))
            }
            if remove { entries.remove(line) } else { entries.insert(line) }
        }
        return .success(SensitiveActions(entries: entries))
    }
}
