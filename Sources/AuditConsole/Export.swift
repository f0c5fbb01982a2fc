import AuditAPI
import AuditModel
import AuditStore
import Foundation
import Hummingbird
import NIOCore

/// `GET /console/api/export`: every event of the query's range, streamed page by page (newest first)
/// as CSV or JSON lines, so an export is not limited to one page nor held in memory.
extension WebConsole {
    static let exportPageSize = 500
    static let csvColumns = ["EventTime", "EventId", "Username", "EventName", "EventSource", "ResourceType", "ResourceName", "SourceIPAddress",
                             "AccessKeyId", "ActionType", "ErrorCode", "ApiErrorCode", "SensitiveAction", "RequestId", "EventRegion"]

    public static var csvHeader: String { csvColumns.joined(separator: ",") }

    enum ExportFormat: String {
        case csv, jsonl
    }

    func export(_ request: Request, _ context: AuditRequestContext) async -> Response {
        await withSession(request, context, csrf: false) { active in
            // The API's GET form, plus LookupAttributes as one JSON array (what the page sends).
            var params = RequestParameters(root: JSONObject(fields: []), body: [], fromQueryString: true)
            let format: ExportFormat
            var q: EventQuery
            do {
                params = try RequestParameters.fromQuery(request.uri.query ?? "")
                params = try Self.exportParameters(params)
                (format, q) = try await exportQuery(params, caller: active.caller, context: context)
            } catch {
                let refusal = error as? APIError ?? .internalError
                audit("ExportEvents", caller: active.caller, request: request, context: context, parameters: params.root, error: refusal)
                return self.error(.badRequest, refusal, context)
            }
            audit("ExportEvents", caller: active.caller, request: request, context: context, parameters: params.root, error: nil)
            q.limit = Self.exportPageSize
            q.includeTotalCount = false
            let pageQuery = q
            let storage = api.environment.storage
            let logger = context.logger
            var headers = HTTPFields()
            headers[.contentType] = format == .csv ? "text/csv; charset=utf-8" : "application/x-ndjson"
            headers[.contentDisposition] = "attachment; filename=\"cloudaudit-events-\(q.startTime)-\(q.endTime).\(format.rawValue)\""
            headers[.cacheControl] = "no-store"
            let body = ResponseBody { writer in
                if format == .csv { try await writer.write(ByteBuffer(string: Self.csvHeader + "\r\n")) }
                var page = pageQuery
                while true {
                    let result: EventPage
                    do { result = try await storage.events.lookup(page) } catch {
                        // The status is sent already: end the body early; the client sees a truncated file.
                        logger.error("export stopped", metadata: ["error.message": "\(error)"])
                        throw error
                    }
                    var chunk = ""
                    for e in result.events { chunk += format == .csv ? Self.csvLine(e) : Self.jsonLine(e) }
                    if !chunk.isEmpty { try await writer.write(ByteBuffer(string: chunk)) }
                    guard !result.listOver, let last = result.events.last else { break }
                    page.after = last.pagePosition
                }
                try await writer.finish(nil)
            }
            return secured(Response(status: .ok, headers: headers, body: body))
        }
    }

    /// `LookupAttributes` given as JSON text becomes the value it holds (the query reader then checks
    /// it); empty, it is left out.
    static func exportParameters(_ p: RequestParameters) throws -> RequestParameters {
        var fields = p.root.fields
        for name in ["LookupAttributes", "ExcludeAttributes"] {
            guard case .string(let text)? = p.root[name] else { continue }
            fields = fields.filter { $0.key != name }
            if !text.isEmpty {
                guard let value = try? JSONParser.parse(Array(text.utf8)) else {
                    throw APIError.invalidValue(name, "give a JSON array of {AttributeKey, AttributeValue} objects")
                }
                fields.append((key: name, value: value))
            }
        }
        return RequestParameters(root: JSONObject(fields: fields), body: [], fromQueryString: true)
    }

    /// The export's format and query, checked as LookUpEvents checks its parameters. The export is of a
    /// query the page ran, maybe minutes ago: it may drift past the retention boundary as a continued query may.
    func exportQuery(_ params: RequestParameters, caller: Caller, context: AuditRequestContext) async throws -> (ExportFormat, EventQuery) {
        guard let format = ExportFormat(rawValue: try params.string("format") ?? "csv") else { throw APIError.invalidValue("format", "use csv or jsonl") }
        let call = ActionCall(caller: caller, params: params, requestId: context.requestId, environment: api.environment, logger: context.logger)
        return (format, try await QueryParameters.parse(call, defaultMaxResults: 1, continuing: true).query)
    }

    static func jsonLine(_ e: StoredEvent) -> String {
        String(decoding: JSONWriter.encode(EventView.json(e, location: nil)), as: UTF8.self) + "\n"
    }

    static func csvLine(_ e: StoredEvent) -> String {
        let s = EventSummary(record: e.record)
        let fields = [String(e.eventTime), e.eventId, s.username, s.eventName, s.eventSource, s.resourceType, s.resourceName, s.sourceIPAddress,
                      s.secretId, s.actionType, String(s.errorCode), s.apiErrorCode, s.sensitiveAction ? "true" : "false", s.requestId, s.eventRegion]
        return fields.map(csvField).joined(separator: ",") + "\r\n"
    }

    /// RFC 4180 quoting; a value a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR
    /// first) gets a leading `'`, so an exported event cannot run code on the auditor's machine.
    static func csvField(_ v: String) -> String {
        var v = v
        if let first = v.first, "=+-@\t\r".contains(first) { v = "'" + v }
        guard v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return v }
        return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
