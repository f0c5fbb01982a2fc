// @ts-check
/**
 * Reading a `text/event-stream` (server-sent events) as the HTML standard's EventSource reads it, for
 * the Live view's stream of `api/tail`. The page reads the stream with `fetch` rather than EventSource:
 * an EventSource hides a refusal's status and JSON message (a refused filter, a session that ended),
 * which the view must show. Pure: no DOM (tests/js/sse.test.js).
 */

/**
 * A message of the stream: `event` is "message" when the server named none, `id` the stream's last
 * event id once it was read (the cursor to resume from). A comment (`: heartbeat`) is given as a
 * message with `comment` true and its text as `data`; an EventSource drops comments, the Live view
 * takes a heartbeat to mean it caught up.
 * @typedef {{event: string, data: string, id: string, comment?: boolean}} StreamMessage
 */

export class EventStreamParser {
  constructor() {
    /** The text after the last complete line. */
    this.rest = "";
    /** The previous text ended with CR: a LF that starts the next one ends no second line. */
    this.afterCR = false;
    this.started = false;
    /** @type {string[]} the `data:` lines of the message being read */
    this.data = [];
    this.event = "";
    this.idBuffer = "";
    /** The id of the last message dispatched (the standard's "last event ID string"). */
    this.lastEventId = "";
    /** @type {number | null} the reconnection time the server asked for (`retry:`), in milliseconds */
    this.retry = null;
  }

  /**
   * Reads the next piece of the stream's text (decoded, in any pieces) and returns the messages it
   * completed. A message that the stream's end cuts off is never returned, as the standard says.
   * @param {string} text
   * @returns {StreamMessage[]}
   */
  push(text) {
    let s = text;
    if (!this.started && s) {
      this.started = true;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    if (this.afterCR && s.startsWith("\n")) s = s.slice(1);
    this.afterCR = false;
    /** @type {StreamMessage[]} */
    const out = [];
    const lines = (this.rest + s).split(/\r\n|\r|\n/);
    // The last piece has no line end yet; a text ending with CR may be a CRLF cut in two.
    this.rest = /** @type {string} */ (lines.pop());
    if (s.endsWith("\r")) this.afterCR = true;
    for (const line of lines) this.line(line, out);
    return out;
  }

  /**
   * @param {string} line
   * @param {StreamMessage[]} out
   */
  line(line, out) {
    if (line === "") {
      this.dispatch(out);
      return;
    }
    if (line.startsWith(":")) {
      out.push({ event: ":", data: line.slice(1).trimStart(), id: this.lastEventId, comment: true });
      return;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id") { if (!value.includes("\0")) this.idBuffer = value; }
    else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
  }

  /** @param {StreamMessage[]} out */
  dispatch(out) {
    // The id moves even for a message without data (the server's heartbeat carries one).
    this.lastEventId = this.idBuffer;
    if (this.data.length) out.push({ event: this.event || "message", data: this.data.join("\n"), id: this.lastEventId });
    this.data = [];
    this.event = "";
  }
}
