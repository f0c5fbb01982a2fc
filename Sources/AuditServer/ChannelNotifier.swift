import AuditAPI
import AuditAlerts
import AuditAuth
import AuditConfiguration
import AuditDelivery
import AuditModel
import AuditStore
import Foundation
import Logging

/// Sends alerts to the channels of the accounts (docs/contract.md, "Alerts"): webhooks signed like
/// delivery notifications, emails through the operator's SMTP server, RFC 5424 syslog over TCP or TLS.
/// One attempt per call; the alert service retries from its outbox.
struct ChannelNotifier: AlertNotifier {
    struct SMTPSettings: Sendable {
        var server: SMTPServer
        var from: String
        var password: [UInt8]?
    }

    let sealer: SecretSealer
    let smtp: SMTPSettings?
    let caPEM: [UInt8]?
    let logger: Logger

    /// The SMTP settings of the configuration, checked (a bad URL, a missing From, an unreadable password
    /// file are refused at start).
    static func smtpSettings(_ c: ServerConfiguration) throws -> SMTPSettings? {
        guard let url = c.smtpURL else {
            if c.smtpFrom != nil || c.smtpPassword != nil || c.smtpPasswordFile != nil {
                throw ServerError("--smtp-from and the SMTP password need --smtp-url (the server email alerts go through)")
            }
            return nil
        }
        let server: SMTPServer
        do { server = try SMTPServer(url: url) } catch { throw ServerError("--smtp-url: \(error)") }
        guard let from = c.smtpFrom, !from.isEmpty else { throw ServerError("--smtp-url needs --smtp-from (the From address of alert emails)") }
        var password = c.smtpPassword.map { Array($0.utf8) }
        if let file = c.smtpPasswordFile {
            guard password == nil else { throw ServerError("give the SMTP password once: smtp-password or smtp-password-file, not both") }
            password = try SecretFile.read(file, what: "the SMTP password file")
            while let last = password?.last, last == 10 || last == 13 { password?.removeLast() }
        }
        return SMTPSettings(server: server, from: from, password: password)
    }

    func send(_ alert: FiredAlert, channel: StoredAlertChannel, timeout: Duration) async throws -> String {
        guard case .object(let config)? = try? JSONParser.parse(channel.config) else { throw NotifyError("the channel's configuration cannot be read") }
        let body = JSONWriter.encode(Self.message(alert, channel: channel))
        switch channel.type {
        case .webhook:
            guard let url = config["Url"]?.stringValue, let sealedHex = config["SealedSecret"]?.stringValue, let sealed = [UInt8](hex: sealedHex) else {
                throw NotifyError("the webhook channel has no URL or secret")
            }
            let secret = try sealer.open(sealed, secretId: ChannelSecrets.associatedData(accountId: channel.accountId, channelId: channel.id))
            let acknowledged = try await WebhookSender(timeout: timeout, logger: logger).send(url: url, secret: Array(secret.utf8), body: body, messageId: alert.id,
                                                      headers: [("X-CloudAudit-Alert-Id", alert.id)])
            guard acknowledged else { throw NotifyError("the receiver \(WebhookSender.receiverName(url)) did not acknowledge the alert (no 2xx answer)") }
            return "acknowledged by \(WebhookSender.receiverName(url)) (2xx)"
        case .email:
            guard let smtp else { throw NotifyError("this server has no SMTP server to send email through (the operator sets --smtp-url)") }
            let to = config["To"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let sender = try SMTPSender(server: smtp.server, from: smtp.from, password: smtp.password, caCertificatePEM: caPEM, timeout: timeout,
                                        logger: logger)
            let receipt = try await sender.send(to: to, subject: Self.subject(alert), body: Self.text(alert, channel: channel),
                                                headers: [("X-CloudAudit-Alert-Id", alert.id)])
            return receipt.description
        case .syslog:
            guard let address = config["Address"]?.stringValue, let proto = config["Protocol"]?.stringValue else {
                throw NotifyError("the syslog channel has no address")
            }
            let receiver = try SyslogReceiver(address: address, protocol: proto)
            let sender = try SyslogSender(receiver: receiver, caCertificatePEM: caPEM, timeout: timeout, logger: logger)
            try await sender.send(severity: alert.severity, msgId: "ALERT",
                                  structuredData: [SyslogStructuredElement(id: "alert@32473", parameters: [
                                      ("id", alert.id), ("rule", String(alert.ruleId)), ("account", String(alert.accountId)), ("count", String(alert.count)),
                                  ])],
                                  message: String(decoding: body, as: UTF8.self))
            return "written to \(address) (\(proto))"
        }
    }

    /// The alert as JSON: what a webhook receives, and the message of a syslog line.
    static func message(_ a: FiredAlert, channel: StoredAlertChannel) -> JSONValue {
        .obj([("AlertId", .string(a.id)), ("AccountId", .int(a.accountId)), ("RuleId", .int(a.ruleId)), ("RuleName", .string(a.ruleName)),
              ("Severity", .string(a.severity.rawValue)), ("FiredAt", .int(a.firedAt)), ("Group", a.group.map { .string($0) } ?? .null),
              ("Count", .int(Int64(a.count))), ("EventIds", .array(a.eventIds.map { .string($0) })), ("AlertEventId", .string(a.alertEventId)),
              ("ChannelId", .int(channel.id))])
    }

    static func time(_ t: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(UTCTime.clamped(t))))
    }

    static func subject(_ a: FiredAlert) -> String {
        "[CloudAudit \(a.severity.rawValue)] \(a.ruleName)" + (a.group.map { " (\($0))" } ?? "")
    }

    static func text(_ a: FiredAlert, channel: StoredAlertChannel) -> String {
        var lines = ["Rule: \(a.ruleName) (\(a.ruleId))", "Severity: \(a.severity.rawValue)", "Account: \(a.accountId)",
                     "Fired at: \(Self.time(a.firedAt))", "Matching events: \(a.count)"]
        if let g = a.group { lines.append("Group: \(g)") }
        if !a.eventIds.isEmpty { lines.append("Event ids: " + a.eventIds.joined(separator: ", ")) }
        lines.append("Alert id: \(a.id)")
        return lines.joined(separator: "\n") + "\n"
    }
}

struct NotifyError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
