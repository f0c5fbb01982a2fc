import AuditModel

/// An error answered to the client in the API 3.0 envelope
/// `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}` (always HTTP 200).
///
/// Codes are the official dotted codes. Every client-facing message is built in this file, so they
/// read as a set; anything that is not an `APIError` becomes `InternalError` and is only logged.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    // Authentication
    public static func invalidAuthorization(_ why: String) -> APIError {
        .init("AuthFailure.InvalidAuthorization", "The Authorization header is invalid: \(why). Expected: TC3-HMAC-SHA256 Credential=<SecretId>/<YYYY-MM-DD>/cloudaudit/tc3_request, SignedHeaders=content-type;host, Signature=<hex>.")
    }
    public static let secretIdNotFound = APIError("AuthFailure.SecretIdNotFound", "The SecretId does not exist or is disabled. Check that you use the key your administrator gave you, or ask them for a new one.")
    public static let signatureFailure = APIError("AuthFailure.SignatureFailure", "The request signature does not match. Check the SecretKey, and sign the request exactly as sent (method, path, query, signed headers, body) with service `cloudaudit`.")
    public static func signatureExpire(skew: Int64) -> APIError {
        .init("AuthFailure.SignatureExpire", "The request timestamp is \(skew) seconds away from the server's clock; the limit is 300. Check the client's clock and sign the request again.")
    }
    public static func unauthorizedOperation(role: String, action: String) -> APIError {
        .init("AuthFailure.UnauthorizedOperation", "A key with the role \(role) may not call \(action).")
    }

    // Protocol
    public static func invalidAction(_ action: String) -> APIError {
        action.isEmpty
            ? .init("InvalidAction", "No action was given. Set the X-TC-Action header (or the Action parameter).")
            : .init("InvalidAction", "The action \(clip(action)) does not exist in cloudaudit 2019-03-19.")
    }
    public static func noSuchVersion(_ v: String) -> APIError {
        .init("NoSuchVersion", v.isEmpty ? "No API version was given. Set X-TC-Version to 2019-03-19." : "The API version \(clip(v)) is not supported; use 2019-03-19.")
    }
    public static let requestLimitExceeded = APIError("RequestLimitExceeded", "Too many requests for this key. Slow down and retry after a short wait.")
    public static let serverBusy = APIError("RequestLimitExceeded", "The server is handling too many requests at once. Retry after a short wait.")
    public static func requestSizeLimitExceeded(limit: Int) -> APIError {
        .init("RequestSizeLimitExceeded", "The request body is larger than \(limit) bytes. Send fewer events per call.")
    }
    public static func tooManyQueryParameters(limit: Int) -> APIError {
        .init("InvalidParameter", "The query string has more than \(limit) parameters. Send large requests as POST with a JSON body.")
    }
    public static func queryNameTooDeep(_ name: String, limit: Int) -> APIError {
        .init("InvalidParameter", "The parameter name \(clip(name)) has more than \(limit) dot-separated parts.")
    }
    public static func bodyRequired(_ action: String) -> APIError {
        .init("UnsupportedOperation", "\(clip(action)) takes its parameters in a JSON body only: send it as POST with Content-Type application/json.")
    }
    public static func requestTimedOut(seconds: Int64) -> APIError {
        .init("FailedOperation", "The request did not finish within \(seconds) seconds and was cancelled. Narrow it (a shorter time range, more conditions, fewer events per call) and retry.")
    }
    public static let storeUnavailable = APIError("FailedOperation.StoreUnavailable", "The event store cannot be reached at the moment (it may be restarting). Retry in a few seconds; events sent with this call may or may not be stored, and sending them again is safe (each eventId is stored once).")
    public static let streamNeedsGet = APIError("UnsupportedOperation", "TailEvents answers with a stream of server-sent events (text/event-stream): call it with GET and its parameters in the query string (or GET /console/api/tail from the console).")
    public static let tooManyTails = APIError("LimitExceeded.Tails", "This server already streams as many live tails as it allows (for this account or in all). Close a tail you no longer read, or retry in a while.")
    public static let alertsNotRunning = APIError("FailedOperation", "This server does not send alerts (it was built without the alert service); ask the operator.")
    public static func alertChannelNotFound(_ id: Int64) -> APIError {
        .init("ResourceNotFound", "The account has no alert channel \(id). DescribeAlertChannels lists them.")
    }
    public static func alertRuleNotFound(_ id: Int64) -> APIError {
        .init("ResourceNotFound", "The account has no alert rule \(id). DescribeAlertRules lists them.")
    }
    public static let internalError = APIError("InternalError", "An internal error occurred. Retry later; if it persists, report the RequestId to the operator.")

    // Parameters
    public static func invalidBody(_ why: String) -> APIError { .init("InvalidParameter", "The request body is not valid JSON: \(why).") }
    public static func missing(_ name: String) -> APIError { .init("MissingParameter", "The parameter \(name) is required.") }
    public static func wrongType(_ name: String, expected: String, got: String) -> APIError {
        .init("InvalidParameter", "The parameter \(name) must be \(expected), not \(got).")
    }
    public static func invalidValue(_ name: String, _ why: String) -> APIError { .init("InvalidParameterValue", "The parameter \(name) is invalid: \(why).") }

    // Queries
    public static func timeMissing(_ name: String) -> APIError {
        .init("InvalidParameter.Time", "\(name) is required and must be an integer number of Unix seconds.")
    }
    public static func timeOrder(start: Int64, end: Int64) -> APIError {
        .init("InvalidParameterValue.Time", "StartTime (\(start)) is after EndTime (\(end)).")
    }
    public static func endTimeAhead(_ end: Int64, now: Int64, limit: Int64) -> APIError {
        .init("InvalidParameterValue.Time", "EndTime (\(end)) is more than \(limit / 3600) hours after the server's clock (\(now)); no event is that new. Send an EndTime up to now.")
    }
    public static func overTime(retentionDays: Int) -> APIError {
        .init("LimitExceeded.OverTime", "StartTime is older than the account's retention of \(retentionDays) days; query a more recent range.")
    }
    public static func maxResult(_ v: Int64) -> APIError {
        .init("InvalidParameterValue.MaxResult", "MaxResults must be between 1 and 50, not \(v).")
    }
    public static func attributeKey(_ k: String) -> APIError {
        let hint = LookupAttributeName.suggestion(for: k).map { " Did you mean \($0)?" } ?? ""
        return .init("InvalidParameterValue.attributeKey", "The lookup attribute key \(clip(k)) is not supported.\(hint) Call GetAttributeKey for the valid keys.")
    }
    public static func closedSetValue(_ list: String = "LookupAttributes", index: Int, key: String, _ value: String, accepted: String) -> APIError {
        .init("InvalidParameterValue", "\(list).\(index).AttributeValue \"\(clip(value))\" is not a value of \(key); use \(accepted).")
    }
    public static let badNextToken = APIError("InvalidParameterValue", "NextToken is invalid, expired, or belongs to another query. Start again without NextToken.")

    // PutEvents
    public static func tooManyEvents(_ n: Int, limit: Int) -> APIError {
        .init("LimitExceeded", "Events holds \(n) records; send at most \(limit) per call.")
    }

    // Tracking sets and audits

    public static func trackNotFound(_ id: Int64) -> APIError {
        .init("ResourceNotFound", "No tracking set with TrackId \(id) exists in this account. List them with DescribeAuditTracks.")
    }
    public static func auditNotFound(_ name: String) -> APIError {
        .init("ResourceNotFound.AuditNotExist", "No audit named \"\(clip(name))\" exists in this account. List them with ListAudits.")
    }
    public static func trackQuota(_ quota: Int) -> APIError {
        .init("LimitExceeded.OverAmount", "The account already has \(quota) tracking sets, its quota. Delete one, or ask the operator to raise --track-quota.")
    }
    public static func trackNameExists(_ name: String) -> APIError {
        .init("InvalidParameterValue", "A tracking set named \"\(clip(name))\" already exists in this account. Choose another name.")
    }
    public static let renameRefused = APIError("InvalidParameterValue.AuditTrackNameNotSupportModify",
                                               "A tracking set cannot be renamed. Send its current Name or leave Name out; to change the name, create a new set.")
    public static func unknownRegion(_ code: String, field: String, _ region: String, known: [String]) -> APIError {
        .init(code, "\(field) \"\(clip(region))\" is not a configured region. Configured regions: \(known.joined(separator: ", ")).")
    }
    public static func bucketMissing(_ bucket: String, region: String) -> APIError {
        .init("ResourceNotFound.CosNotExist", "The bucket \"\(clip(bucket))\" does not exist in region \(region). Create it first (or use IsCreateNewBucket=1 with UpdateAudit/CreateAudit).")
    }
    public static func bucketCheckFailed(_ bucket: String, region: String, _ why: String) -> APIError {
        .init("FailedOperation.CheckCosBucketIsExistFailed", "Could not check the bucket \"\(clip(bucket))\" in region \(region): \(why). Retry later, or ask the operator to check the region's endpoint and credentials.")
    }
    public static func bucketExists(_ bucket: String) -> APIError {
        .init("ResourceInUse.CosBucketExists", "The bucket \"\(clip(bucket))\" already exists. Use IsCreateNewBucket=0 to deliver into it.")
    }
    public static let notManagementAccount = APIError("UnauthorizedOperation",
        "TrackForAllMembers=1 is only for an organization's management account, and this account has no member accounts.")

    // KMS keys (envelope encryption of delivered files)
    public static func kmsRegionMismatch(kmsRegion: String, storageRegion: String, storageField: String) -> APIError {
        .init("InvalidParameterValue.KmsRegionError", "KmsRegion (\(clip(kmsRegion))) must be the same region as \(storageField) (\(clip(storageRegion))).")
    }
    public static func kmsKeyNotFound(_ id: String, region: String) -> APIError {
        .init("InvalidParameterValue", "KeyId \(clip(id)) is not a KMS key of this account. List the keys of region \(clip(region)) with ListKeyAliasByRegion; the operator creates them with `cloudaudit kms create-key`.")
    }
    public static func kmsKeyOtherRegion(_ id: String, keyRegion: String, kmsRegion: String) -> APIError {
        .init("InvalidParameterValue.KmsRegionError", "KMS key \(clip(id)) is a key of region \(clip(keyRegion)), not of KmsRegion \(clip(kmsRegion)). Use a key of the storage region.")
    }
    public static func kmsKeyDisabled(_ id: String) -> APIError {
        .init("InvalidParameterValue", "KMS key \(clip(id)) is disabled. Choose an enabled key (ListKeyAliasByRegion), or ask the operator to enable it.")
    }

    /// A client's text as quoted in a message: printable, at most 64 Unicode scalars (not Characters:
    /// one letter with thousands of combining marks is one Character).
    // The web console's own refusals (docs/console.md), answered with an HTTP status in the form
    // `{"Error": {"Code", "Message"}, "RequestId"}`.
    public static let consolePageNotFound = APIError("NotFound", "There is no console page at this address.")
    public static let originNotAllowed = APIError("OriginNotAllowed", "The request came from a page of another site.")
    public static let csrfTokenInvalid = APIError("CsrfTokenInvalid", "The request did not carry this session's X-CSRF-Token header; reload the console.")
    public static let notSignedIn = APIError("NotSignedIn", "Sign in to use the console.")
    public static let sessionExpired = APIError("SessionExpired", "The session has expired; sign in again.")
    public static let signInFailed = APIError("AuthFailure.SignInFailed", "The access key, account, role or password is not correct.")
    public static func signInInvalid(_ why: String) -> APIError { .init("InvalidParameter", why) }
    public static func consoleRole(_ role: String) -> APIError {
        .init(unauthorizedOperation(role: role, action: "ConsoleLogin").code, "The console is for admin and auditor keys; this key's role is \(clip(role)).")
    }

    static func clip(_ s: String) -> String { TextClip.scalars(s, 64, printable: true) }
}
