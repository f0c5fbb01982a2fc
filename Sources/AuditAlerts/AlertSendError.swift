/// An alert notification could not be sent, or its configuration or content is unusable: said for the
/// operator who must act on it ("the SMTP server at mail.example.com:587 refused recipient ops@example.com:
/// 550 5.1.1 no such user").
///
/// The message names the server by host and port only, and never holds a password or other credential,
/// even when a server echoes one back in a reply (such text is redacted). A caller may log it and show
/// it as it is.
public struct AlertSendError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is: an extensible set, so a `switch` needs a `default`.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The channel's configuration is unusable (a URL, an address, a CA file): fix it and retry.
        public static let configuration = Kind("configuration")
        /// This alert cannot be sent as it is (a recipient address, a header name, a syslog field).
        public static let invalidMessage = Kind("invalid message")
        /// No connection could be made (no such host, refused, unreachable).
        public static let connection = Kind("connection")
        /// The exchange did not complete within the timeout.
        public static let timeout = Kind("timeout")
        /// TLS could not be set up: handshake, certificate or host name, or the server does not offer it.
        public static let tls = Kind("tls")
        /// The server answered a command with a refusal (its reply is in the message).
        public static let refused = Kind("refused")
        /// The server broke the protocol: an overlong line or reply, text that is not a reply, or it
        /// closed the connection in the middle.
        public static let protocolViolation = Kind("protocol violation")
    }

    public var kind: Kind
    public var message: String
    /// True when trying the same alert again cannot succeed without a change of configuration or
    /// content (an invalid address, a 5xx refusal, a certificate that does not verify); false when a
    /// later attempt may (a timeout, a refused connection, a 4xx reply). Callers retrying with backoff
    /// can stop early on a permanent failure.
    public var isPermanent: Bool

    public init(_ kind: Kind, _ message: String, permanent: Bool) {
        self.kind = kind
        self.message = message
        self.isPermanent = permanent
    }

    public var description: String { message }

    static func configuration(_ message: String) -> AlertSendError { AlertSendError(.configuration, message, permanent: true) }
    static func invalidMessage(_ message: String) -> AlertSendError { AlertSendError(.invalidMessage, message, permanent: true) }
}
