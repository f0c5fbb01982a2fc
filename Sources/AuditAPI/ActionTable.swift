import AuditAuth
import AuditModel
import AuditStore
import Logging

/// What an action does, which decides the roles that may call it and its self-audit `actionType`.
public enum ActionKind: Sendable {
    /// Reads the account's data: admin and auditor.
    case read
    /// Changes the account's configuration: admin.
    case write
    /// Records events: admin, ingest, and service (for other accounts).
    case ingest

    public func allows(role: KeyRole) -> Bool {
        switch self {
        case .read: return role == .admin || role == .auditor
        case .write: return role == .admin
        case .ingest: return role == .admin || role == .ingest || role == .service
        }
    }
}

/// Everything an action needs besides its parameters.
public struct APIEnvironment: Sendable {
    public var storage: Storage
    public var cursors: PageCursorCodec
    public var defaultRetentionDays: Int
    public var clock: @Sendable () -> Int64
    public var maxEventsPerCall: Int
    public var geoIPConfigured: Bool
    /// The storage regions tracking sets may deliver to.
    public var regions: any RegionCatalog
    /// Tracking sets allowed per account.
    public var trackQuota: Int
    /// Signs the accounts' checkpoints with the deployment key.
    public var checkpointer: Checkpointer
    /// Wakes the live tails of an account when this process appended to it.
    public var appendSignal = AppendSignal()
    /// The live tails this node streams, and its limits.
    public var tails = TailSlots()
    /// How long a live tail waits before reading the store again when no append of this process woke it
    /// (events appended by another node or process arrive within this).
    public var tailPollInterval: Duration = .milliseconds(500)
    /// Seals the secrets of alert channels (the deployment's master key); nil: channels with a secret are refused.
    public var sealer: SecretSealer?
    /// Sends alerts to channels (`TestAlertChannel`); nil: the server sends none.
    public var alertNotifier: (any AlertNotifier)?
    /// The operations recorded as sensitive when a producer leaves `sensitiveAction` out.
    public var sensitiveActions = SensitiveActions.standard

    public init(storage: Storage, cursors: PageCursorCodec, defaultRetentionDays: Int, regions: any RegionCatalog, trackQuota: Int = 5,
                checkpointer: Checkpointer, clock: @escaping @Sendable () -> Int64 = unixNow, maxEventsPerCall: Int = 1000, geoIPConfigured: Bool = false) {
        self.checkpointer = checkpointer
        self.storage = storage
        self.cursors = cursors
        self.defaultRetentionDays = defaultRetentionDays
        self.clock = clock
        self.maxEventsPerCall = maxEventsPerCall
        self.geoIPConfigured = geoIPConfigured
        self.regions = regions
        self.trackQuota = trackQuota
    }

    /// The retention of an account in days (its own, or the deployment's default).
    public func retentionDays(of accountId: Int64) async throws -> Int {
        try await storage.accounts.account(id: accountId)?.retentionDays ?? defaultRetentionDays
    }
}

/// One call of an action.
public struct ActionCall: Sendable {
    public var caller: Caller
    public var params: RequestParameters
    public var requestId: String
    public var environment: APIEnvironment
    public var logger: Logger

    public init(caller: Caller, params: RequestParameters, requestId: String, environment: APIEnvironment, logger: Logger) {
        self.caller = caller
        self.params = params
        self.requestId = requestId
        self.environment = environment
        self.logger = logger
    }
}

/// An API action: its name, kind, and the function that answers it with the `Response` fields.
public struct ActionDefinition: Sendable {
    public var name: String
    public var kind: ActionKind
    public var run: @Sendable (ActionCall) async throws -> [(String, JSONValue)]

    public init(name: String, kind: ActionKind, run: @escaping @Sendable (ActionCall) async throws -> [(String, JSONValue)]) {
        self.name = name
        self.kind = kind
        self.run = run
    }
}

/// The API's table of contents.
public enum ActionTable {
    public static let implemented: [String: ActionDefinition] = Dictionary(uniqueKeysWithValues: ([
        PutEvents.definition,
        LookUpEvents.definition,
        DescribeEvents.definition,
        GetAttributeKey.definition,
        TailEvents.definition,
    ] + TrackActions.definitions + LegacyAuditActions.definitions + RegionActions.definitions
        + IntegrityActions.definitions + AlertActions.definitions).map { ($0.name, $0) })

    /// The self-audit `actionType` of an action name.
    public static func isReadName(_ action: String) -> Bool {
        ["Describe", "List", "LookUp", "Get", "Inquire", "Tail"].contains { action.hasPrefix($0) }
    }
}
