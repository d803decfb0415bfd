/**
 * The opening handshake of RFC 6455 §4, as pure functions: validating a
 * client's upgrade request (in coder/websocket's order, with its statuses),
 * the origin check, subprotocol selection, the server's replies, building a
 * client's request headers and validating the server's response.
 *
 * No Node and no Effect here: the Node glue (`accept`, `dial`) feeds in what
 * `IncomingMessage` gives and computes the SHA-1 of the accept value itself.
 *
 * @since 0.1.0
 */
import * as PathMatch from "./internal/pathMatch.js"

/**
 * The GUID appended to `Sec-WebSocket-Key` before hashing (RFC 6455 §1.3).
 *
 * @since 0.1.0
 * @category constants
 */
export const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// ---------------------------------------------------------------------------
// Header helpers
// ---------------------------------------------------------------------------

/**
 * The values of every `name` line of `rawHeaders` (`[name, value, name,
 * value, …]` as Node's `rawHeaders` has them), matching names
 * case-insensitively, in the order received.
 *
 * @since 0.1.0
 * @category headers
 */
export const headerValues = (rawHeaders: ReadonlyArray<string>, name: string): Array<string> => {
  const lower = name.toLowerCase()
  const out: Array<string> = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const n = rawHeaders[i] as string
    if (n.length === lower.length && n.toLowerCase() === lower) out.push(rawHeaders[i + 1] as string)
  }
  return out
}

/** Trims ASCII whitespace only: Node hands over bytes as latin1, so U+00A0 is a byte, not a space. */
const trimAscii = (s: string): string => s.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, "")

/** The comma-separated elements of all `values`, trimmed (empty ones kept). */
const tokens = (values: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (const v of values) for (const t of v.split(",")) out.push(trimAscii(t))
  return out
}

/**
 * Whether one of the comma-separated elements of `values` equals `token`,
 * case-insensitively (elements trimmed).
 *
 * @since 0.1.0
 * @category headers
 */
export const hasToken = (values: ReadonlyArray<string>, token: string): boolean => {
  const lower = token.toLowerCase()
  for (const t of tokens(values)) if (t.toLowerCase() === lower) return true
  return false
}

/**
 * Whether `s` is an RFC 7230 `token` (non-empty, `tchar`s only): the form of
 * header names and of subprotocol names (RFC 6455 §4.1).
 *
 * @since 0.1.0
 * @category headers
 */
export const isToken = (s: string): boolean => /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(s)

/** What Node's `http` accepts in a header value: HTAB, visible ASCII, SP, obs-text. */
const isHeaderValue = (s: string): boolean => /^[\t\x20-\x7e\x80-\xff]*$/.test(s)

/**
 * Whether `key`, once trimmed, is the base64 form of exactly 16 bytes (22
 * characters of the standard alphabet and `==`), as RFC 6455 §4.2.1 requires
 * of `Sec-WebSocket-Key`. Like Go's non-strict decoder, the unused low bits of
 * the last character are not checked.
 *
 * @since 0.1.0
 * @category validation
 */
export const isValidKey = (key: string): boolean => /^[A-Za-z0-9+/]{22}==$/.test(trimAscii(key))

/**
 * A header name or value that cannot be sent: it would break the message or
 * inject headers. `accept` and `dial` turn it into a `HandshakeError`.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidHeaderError extends Error {
  override readonly name = "InvalidHeaderError"
}

const checkHeader = (name: string, value: string): void => {
  if (!isToken(name)) throw new InvalidHeaderError(`invalid header name ${quote(name)}`)
  if (!isHeaderValue(value)) throw new InvalidHeaderError(`invalid value for header ${name}: ${quote(value)}`)
}

/**
 * A double-quoted, ASCII-only rendering of `s` for messages (like Go's `%q`),
 * so that an error body never carries raw control or non-ASCII characters.
 */
const quote = (s: string): string => {
  let out = "\""
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x22) out += "\\\""
    else if (c === 0x5c) out += "\\\\"
    else if (c >= 0x20 && c < 0x7f) out += s[i]
    else if (c === 0x0a) out += "\\n"
    else if (c === 0x0d) out += "\\r"
    else if (c === 0x09) out += "\\t"
    else if (c < 0x100) out += "\\x" + c.toString(16).padStart(2, "0")
    else out += "\\u" + c.toString(16).padStart(4, "0")
  }
  return out + "\""
}

// ---------------------------------------------------------------------------
// Server side
// ---------------------------------------------------------------------------

/**
 * What the server sees of the upgrade request (Node's `IncomingMessage`).
 *
 * @since 0.1.0
 * @category server
 */
export interface RequestHead {
  /** "GET", … */
  readonly method: string
  /** "1.1", "1.0", … */
  readonly httpVersion: string
  /** The request target: origin-form ("/chat") or absolute-form. */
  readonly url: string
  /** `[name, value, name, value, …]` as received. */
  readonly rawHeaders: ReadonlyArray<string>
  /**
   * Whether the request came over TLS. Informational: like coder/websocket,
   * the origin check compares the Origin's own scheme and host, not the
   * connection's.
   */
  readonly secure?: boolean
}

/**
 * @since 0.1.0
 * @category server
 */
export interface AcceptOptions {
  /** Subprotocols the server speaks, in its order of preference. */
  readonly subprotocols?: ReadonlyArray<string>
  /**
   * Extra authorised origins, matched case-insensitively like Go's
   * `path.Match` against the Origin's `host[:port]`, or against
   * `scheme://host[:port]` when the pattern contains `://`. The request's own
   * host is always authorised.
   */
  readonly originPatterns?: ReadonlyArray<string>
  /** Disables the origin check. */
  readonly insecureSkipVerify?: boolean
}

/**
 * An HTTP response to write instead of upgrading.
 *
 * @since 0.1.0
 * @category server
 */
export interface HttpReply {
  readonly status: number
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: string
}

/**
 * The verdict on an upgrade request. `Ok` carries the trimmed key (to hash),
 * the chosen subprotocol ("" for none) and the client's extension offers
 * (all `Sec-WebSocket-Extensions` lines joined with ", ", or ""). `Reject`
 * carries the reply to send and the message for the `HandshakeError`.
 *
 * @since 0.1.0
 * @category server
 */
export type ServerCheck =
  | { readonly _tag: "Ok"; readonly key: string; readonly subprotocol: string; readonly extensionOffers: string }
  | { readonly _tag: "Reject"; readonly reply: HttpReply; readonly message: string }

const UPGRADE_HEADERS: ReadonlyArray<readonly [string, string]> = [["Connection", "Upgrade"], ["Upgrade", "websocket"]]

const reject = (
  status: number,
  message: string,
  headers: ReadonlyArray<readonly [string, string]> = [],
  body: string = message
): ServerCheck => ({
  _tag: "Reject",
  message,
  reply: {
    status,
    headers: [
      ...headers,
      ["Content-Type", "text/plain; charset=utf-8"],
      ["X-Content-Type-Options", "nosniff"]
    ],
    body: body + "\n"
  }
})

const first = (rawHeaders: ReadonlyArray<string>, name: string): string => headerValues(rawHeaders, name)[0] ?? ""

/** HTTP/1.1 or later ("1.1", "2.0", …); anything unparsable is not. */
const atLeastHttp11 = (version: string): boolean => {
  const m = /^(\d+)\.(\d+)$/.exec(version)
  if (m === null) return false
  const major = Number(m[1])
  return major > 1 || (major === 1 && Number(m[2]) >= 1)
}

/**
 * Validates an upgrade request: in coder/websocket's order, the first failed
 * check decides the reply.
 *
 * | check | status | extra headers |
 * |---|---|---|
 * | HTTP/1.1 or later | 426 | |
 * | `Connection` has `upgrade`, `Upgrade` has `websocket` | 426 | `Connection: Upgrade`, `Upgrade: websocket` |
 * | method GET | 405 | |
 * | `Sec-WebSocket-Version` is `13` | 400 | `Sec-WebSocket-Version: 13` |
 * | one `Sec-WebSocket-Key`, base64 of 16 bytes | 400 | |
 * | origin authorised | 403 | |
 *
 * @since 0.1.0
 * @category server
 */
export const checkRequest = (req: RequestHead, options: AcceptOptions): ServerCheck => {
  const raw = req.rawHeaders
  if (!atLeastHttp11(req.httpVersion)) {
    return reject(
      426,
      `WebSocket protocol violation: handshake request must be at least HTTP/1.1: ${quote(`HTTP/${req.httpVersion}`)}`
    )
  }
  if (!hasToken(headerValues(raw, "connection"), "upgrade")) {
    return reject(
      426,
      `WebSocket protocol violation: Connection header ${quote(first(raw, "connection"))} does not contain Upgrade`,
      UPGRADE_HEADERS
    )
  }
  if (!hasToken(headerValues(raw, "upgrade"), "websocket")) {
    return reject(
      426,
      `WebSocket protocol violation: Upgrade header ${quote(first(raw, "upgrade"))} does not contain websocket`,
      UPGRADE_HEADERS
    )
  }
  if (req.method !== "GET") {
    return reject(405, `WebSocket protocol violation: handshake request method is not GET but ${quote(req.method)}`)
  }
  const version = first(raw, "sec-websocket-version")
  if (version !== "13") {
    return reject(
      400,
      `unsupported WebSocket protocol version (only 13 is supported): ${quote(version)}`,
      [["Sec-WebSocket-Version", "13"]]
    )
  }
  const keys = headerValues(raw, "sec-websocket-key")
  if (keys.length === 0) return reject(400, "WebSocket protocol violation: missing Sec-WebSocket-Key")
  if (keys.length > 1) return reject(400, "WebSocket protocol violation: multiple Sec-WebSocket-Key headers")
  const key = trimAscii(keys[0] as string)
  if (!isValidKey(key)) {
    return reject(
      400,
      `WebSocket protocol violation: invalid Sec-WebSocket-Key ${quote(key)}, must be a 16 byte base64 encoded string`
    )
  }
  if (options.insecureSkipVerify !== true) {
    const denied = checkOrigin(req, options.originPatterns ?? [])
    if (denied !== undefined) return denied
  }
  return {
    _tag: "Ok",
    key,
    subprotocol: selectSubprotocol(headerValues(raw, "sec-websocket-protocol"), options.subprotocols ?? []),
    extensionOffers: headerValues(raw, "sec-websocket-extensions").join(", ")
  }
}

/**
 * The subprotocol to answer with: the first of the server's `subprotocols`
 * (its preference order) that equals, case-insensitively, one of the
 * client's comma-separated offers (offers that are not RFC 7230 tokens are
 * ignored); the client's spelling is returned. "" when there is none (the handshake still succeeds, as RFC 6455 allows).
 *
 * @since 0.1.0
 * @category server
 */
export const selectSubprotocol = (
  offerValues: ReadonlyArray<string>,
  subprotocols: ReadonlyArray<string>
): string => {
  const offers = tokens(offerValues)
  for (const sp of subprotocols) {
    const lower = sp.toLowerCase()
    // Only tokens: the client's spelling is echoed in our 101.
    for (const cp of offers) if (isToken(cp) && cp.toLowerCase() === lower) return cp
  }
  return ""
}

/** The host the request was addressed to: absolute-form target first (RFC 7230 §5.4), else `Host`. */
const requestHost = (req: RequestHead): string => {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(req.url)
  if (m !== null) {
    const authority = m[1] as string
    return authority.slice(authority.lastIndexOf("@") + 1)
  }
  return first(req.rawHeaders, "host")
}

/**
 * Whether `pattern` is a well-formed origin pattern (see
 * `AcceptOptions.originPatterns`). `accept` can check its options with it up
 * front; a malformed pattern met during a handshake rejects it with 403.
 *
 * @since 0.1.0
 * @category server
 */
export const isValidOriginPattern = (pattern: string): boolean => PathMatch.isValid(pattern.toLowerCase())

/**
 * The origin check of coder/websocket: no Origin → allowed; an Origin that
 * does not parse → 403; an Origin whose host equals the request's host
 * (case-insensitively, port included) → allowed; otherwise the first
 * matching pattern allows it, a malformed pattern met first rejects it.
 * Returns the rejection, or undefined when allowed.
 */
const checkOrigin = (req: RequestHead, patterns: ReadonlyArray<string>): ServerCheck | undefined => {
  const origin = first(req.rawHeaders, "origin")
  if (origin === "") return undefined
  const parsed = parseOrigin(origin)
  if (typeof parsed === "string") {
    return reject(403, `failed to parse Origin header ${quote(origin)}: ${parsed}`)
  }
  const host = requestHost(req)
  if (parsed.host !== "" && parsed.host.toLowerCase() === host.toLowerCase()) return undefined
  for (const pattern of patterns) {
    const p = pattern.toLowerCase()
    const compiled = PathMatch.compile(p)
    if (compiled === undefined) {
      // As coder/websocket does: the details are for the operator, the peer just gets "Forbidden".
      return reject(403, `failed to parse origin pattern ${quote(pattern)}: syntax error in pattern`, [], "Forbidden")
    }
    const target = p.includes("://") ? `${parsed.scheme}://${parsed.host}` : parsed.host
    if (PathMatch.matchTokens(compiled, target.toLowerCase())) return undefined
  }
  if (parsed.host === "") return reject(403, `request Origin ${quote(origin)} is not a valid URL with a host`)
  return reject(403, `request Origin ${quote(parsed.host)} is not authorized for Host ${quote(host)}`)
}

/**
 * The scheme and `host[:port]` of an Origin value, parsed the way Go's
 * `url.Parse` does (so that the same values are accepted as by
 * coder/websocket: "null" or "example.com" parse, with an empty host), or
 * the reason it does not parse.
 */
export const parseOrigin = (s: string): { readonly scheme: string; readonly host: string } | string => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) return "invalid control character in URL"
  }
  const noHost = { scheme: "", host: "" }
  if (s === "*") return noHost
  let rest = s
  const hash = rest.indexOf("#")
  if (hash >= 0) {
    if (!validEscapes(rest.slice(hash + 1))) return "invalid URL escape"
    rest = rest.slice(0, hash)
  }
  let scheme = ""
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i] as string
    if (/[A-Za-z]/.test(c)) continue
    if (/[0-9+.-]/.test(c)) {
      if (i === 0) break
      continue
    }
    if (c === ":") {
      if (i === 0) return "missing protocol scheme"
      scheme = rest.slice(0, i).toLowerCase()
      rest = rest.slice(i + 1)
    }
    break
  }
  const q = rest.indexOf("?")
  if (q >= 0) rest = rest.slice(0, q)
  if (!rest.startsWith("/")) {
    if (scheme !== "") return { scheme, host: "" } // opaque, like "mailto:x"
    const slash = rest.indexOf("/")
    if ((slash < 0 ? rest : rest.slice(0, slash)).includes(":")) return "first path segment in URL cannot contain colon"
    return validEscapes(rest) ? noHost : "invalid URL escape"
  }
  if (rest.startsWith("//") && (scheme !== "" || !rest.startsWith("///"))) {
    let authority = rest.slice(2)
    const slash = authority.indexOf("/")
    const path = slash < 0 ? "" : authority.slice(slash)
    if (slash >= 0) authority = authority.slice(0, slash)
    const at = authority.lastIndexOf("@")
    if (at >= 0) {
      const userinfo = authority.slice(0, at)
      if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo)) return "invalid userinfo"
      if (!validEscapes(userinfo)) return "invalid URL escape"
    }
    const host = parseHost(authority.slice(at + 1))
    if (!validEscapes(path)) return "invalid URL escape"
    return typeof host === "string" ? { scheme, host } : host.error
  }
  return validEscapes(rest) ? { scheme, host: "" } : "invalid URL escape"
}

const validEscapes = (s: string): boolean => {
  for (let i = s.indexOf("%"); i >= 0; i = s.indexOf("%", i + 3)) {
    if (!/^%[0-9A-Fa-f]{2}/.test(s.slice(i, i + 3))) return false
  }
  return true
}

const validOptionalPort = (port: string): boolean => port === "" || /^:[0-9]*$/.test(port)

/** Go's `parseHost` + host unescaping: the host, or why it is invalid. */
const parseHost = (host: string): string | { readonly error: string } => {
  if (host.startsWith("[")) {
    const close = host.lastIndexOf("]")
    if (close < 0) return { error: "missing ']' in host" }
    const port = host.slice(close + 1)
    if (!validOptionalPort(port)) return { error: `invalid port ${quote(port)} after host` }
    const zone = host.slice(0, close).indexOf("%25")
    if (zone >= 0) {
      const a = unescapeHost(host.slice(0, zone), false)
      const b = unescapeHost(host.slice(zone, close), true)
      const c = unescapeHost(host.slice(close), false)
      if (typeof a !== "string") return a
      if (typeof b !== "string") return b
      if (typeof c !== "string") return c
      return a + b + c
    }
  } else {
    const colon = host.lastIndexOf(":")
    if (colon >= 0 && !validOptionalPort(host.slice(colon))) {
      return { error: `invalid port ${quote(host.slice(colon))} after host` }
    }
  }
  return unescapeHost(host, false)
}

/** ASCII characters allowed verbatim in a host (Go's `shouldEscape` in host mode). */
const HOST_CHARS = /^[A-Za-z0-9!$&'()*+,;=:[\]<>"\-_.~]$/

/**
 * Go's `unescape` in host (or zone) mode: "%XX" only for non-ASCII bytes or
 * "%25" (a zone also allows " " and the host characters), no other ASCII
 * outside `HOST_CHARS`.
 */
const unescapeHost = (s: string, zone: boolean): string | { readonly error: string } => {
  let out = ""
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string
    if (c === "%") {
      const hex = s.slice(i, i + 3)
      if (!/^%[0-9A-Fa-f]{2}$/.test(hex)) return { error: `invalid URL escape ${quote(hex)}` }
      const v = parseInt(hex.slice(1), 16)
      const allowed = zone
        ? hex === "%25" || v === 0x20 || v >= 0x80 || HOST_CHARS.test(String.fromCharCode(v))
        : hex === "%25" || v >= 0x80
      if (!allowed) return { error: `invalid URL escape ${quote(hex)}` }
      out += String.fromCharCode(v)
      i += 2
    } else if (c.charCodeAt(0) < 0x80 && !HOST_CHARS.test(c)) {
      return { error: `invalid character ${quote(c)} in host name` }
    } else {
      out += c
    }
  }
  return out
}

/**
 * The whole `101 Switching Protocols` response, ready to write. Our own
 * headers win over `extraHeaders` of the same name; `Content-Length` and
 * `Transfer-Encoding` are never sent with a 101. Throws
 * `InvalidHeaderError` for a value that cannot be sent (e.g. containing
 * CR or LF) or a subprotocol that is not a token.
 *
 * @since 0.1.0
 * @category server
 */
export const acceptReply = (
  acceptValue: string,
  subprotocol: string,
  extensions: string,
  extraHeaders: ReadonlyArray<readonly [string, string]> = []
): string => {
  if (subprotocol !== "" && !isToken(subprotocol)) {
    throw new InvalidHeaderError(`invalid subprotocol ${quote(subprotocol)}: not an RFC 7230 token`)
  }
  const own: Array<readonly [string, string]> = [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Accept", acceptValue]
  ]
  if (subprotocol !== "") own.push(["Sec-WebSocket-Protocol", subprotocol])
  if (extensions !== "") own.push(["Sec-WebSocket-Extensions", extensions])
  let text = "HTTP/1.1 101 Switching Protocols\r\n"
  for (const [name, value] of own) {
    checkHeader(name, value)
    text += `${name}: ${value}\r\n`
  }
  for (const [name, value] of extraHeaders) {
    checkHeader(name, value)
    const lower = name.toLowerCase()
    if (lower === "content-length" || lower === "transfer-encoding") continue
    if (own.some(([n]) => n.toLowerCase() === lower)) continue
    text += `${name}: ${value}\r\n`
  }
  return text + "\r\n"
}

const REASONS: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable"
}

/** The UTF-8 length of `s` (lone surrogates count as U+FFFD, as encoders write them). */
const utf8Length = (s: string): number => {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4
      i++
    } else n += 3
  }
  return n
}

/**
 * The whole HTTP/1.1 response for a rejected handshake, to be written as
 * UTF-8, after which the connection is closed: `Content-Length` is computed
 * and `close` is added to `Connection` (a 426 keeps its `Upgrade` token, as
 * RFC 7230 §6.7 asks). Throws `InvalidHeaderError` for a header that cannot
 * be sent.
 *
 * @since 0.1.0
 * @category server
 */
export const errorReply = (reply: HttpReply): string => {
  let text = `HTTP/1.1 ${reply.status} ${REASONS[reply.status] ?? "Error"}\r\n`
  const connection: Array<string> = []
  for (const [name, value] of reply.headers) {
    checkHeader(name, value)
    const lower = name.toLowerCase()
    if (lower === "content-length" || lower === "transfer-encoding") continue
    if (lower === "connection") {
      connection.push(value)
      continue
    }
    text += `${name}: ${value}\r\n`
  }
  if (!hasToken(connection, "close")) connection.push("close")
  text += `Content-Length: ${utf8Length(reply.body)}\r\n`
  text += `Connection: ${connection.join(", ")}\r\n\r\n`
  return text + reply.body
}

// ---------------------------------------------------------------------------
// Client side
// ---------------------------------------------------------------------------

/** The headers the handshake owns; user headers of these names are dropped. */
const CLIENT_OWN = new Set([
  "host",
  "connection",
  "upgrade",
  "sec-websocket-version",
  "sec-websocket-key",
  "sec-websocket-protocol",
  "sec-websocket-extensions"
])

/**
 * The headers of a client's upgrade request: ours first (`Host`,
 * `Connection`, `Upgrade`, `Sec-WebSocket-Version`, `Sec-WebSocket-Key`, and
 * `Sec-WebSocket-Protocol` / `Sec-WebSocket-Extensions` when there are any),
 * then `userHeaders` in their order, minus any whose name (case-insensitive)
 * is one of the handshake's own: those are always the library's. Throws
 * `InvalidHeaderError` for an invalid or repeated subprotocol, an invalid
 * key, or a name or value that cannot be sent (e.g. CR/LF: no injection).
 *
 * @since 0.1.0
 * @category client
 */
export const requestHeaders = (opts: {
  readonly key: string
  readonly host: string
  readonly protocols: ReadonlyArray<string>
  readonly extensions: string
  readonly userHeaders: ReadonlyArray<readonly [string, string]>
}): Array<readonly [string, string]> => {
  if (!isValidKey(opts.key) || trimAscii(opts.key) !== opts.key) {
    throw new InvalidHeaderError(`invalid Sec-WebSocket-Key ${quote(opts.key)}`)
  }
  if (opts.host === "") throw new InvalidHeaderError("empty Host")
  const seen = new Set<string>()
  for (const p of opts.protocols) {
    if (!isToken(p)) throw new InvalidHeaderError(`invalid subprotocol ${quote(p)}: not an RFC 7230 token`)
    if (seen.has(p)) throw new InvalidHeaderError(`subprotocol ${quote(p)} offered twice`)
    seen.add(p)
  }
  const out: Array<readonly [string, string]> = [
    ["Host", opts.host],
    ["Connection", "Upgrade"],
    ["Upgrade", "websocket"],
    ["Sec-WebSocket-Version", "13"],
    ["Sec-WebSocket-Key", opts.key]
  ]
  if (opts.protocols.length > 0) out.push(["Sec-WebSocket-Protocol", opts.protocols.join(", ")])
  if (opts.extensions !== "") out.push(["Sec-WebSocket-Extensions", opts.extensions])
  for (const [name, value] of out) checkHeader(name, value)
  for (const [name, value] of opts.userHeaders) {
    checkHeader(name, value)
    if (!CLIENT_OWN.has(name.toLowerCase())) out.push([name, value])
  }
  return out
}

/**
 * What the client sees of the server's response.
 *
 * @since 0.1.0
 * @category client
 */
export interface ResponseHead {
  readonly status: number
  readonly rawHeaders: ReadonlyArray<string>
}

/**
 * The verdict on a server's handshake response: the subprotocol (the
 * server's spelling, "" for none) and the raw `Sec-WebSocket-Extensions`
 * lines joined with ", " ("" for none), or why it is rejected.
 *
 * @since 0.1.0
 * @category client
 */
export type ClientCheck =
  | { readonly _tag: "Ok"; readonly subprotocol: string; readonly extensions: string }
  | { readonly _tag: "Reject"; readonly message: string }

const fail = (message: string): ClientCheck => ({ _tag: "Reject", message })

/**
 * Validates the server's response, in coder/websocket's order: status 101,
 * `Connection: upgrade`, `Upgrade: websocket`, `Sec-WebSocket-Accept` exactly
 * `expectedAccept` (one line), a subprotocol only if it is one we offered
 * (none is fine), and no extensions unless we offered some. Extension
 * parameters are left to the extension negotiation.
 *
 * @since 0.1.0
 * @category client
 */
export const checkResponse = (
  res: ResponseHead,
  expectedAccept: string,
  offeredProtocols: ReadonlyArray<string>,
  offeredExtensions: boolean
): ClientCheck => {
  const raw = res.rawHeaders
  if (res.status !== 101) return fail(`expected handshake response status code 101 but got ${res.status}`)
  if (!hasToken(headerValues(raw, "connection"), "upgrade")) {
    return fail(
      `WebSocket protocol violation: Connection header ${quote(first(raw, "connection"))} does not contain Upgrade`
    )
  }
  if (!hasToken(headerValues(raw, "upgrade"), "websocket")) {
    return fail(`WebSocket protocol violation: Upgrade header ${quote(first(raw, "upgrade"))} does not contain websocket`)
  }
  const accepts = headerValues(raw, "sec-websocket-accept")
  if (accepts.length !== 1 || accepts[0] !== expectedAccept) {
    return fail(
      `WebSocket protocol violation: invalid Sec-WebSocket-Accept ${quote(accepts.join(", "))}, expected ${quote(expectedAccept)}`
    )
  }
  const protocols = headerValues(raw, "sec-websocket-protocol")
  let subprotocol = ""
  if (protocols.length > 1 || (protocols.length === 1 && protocols[0] !== "")) {
    const p = protocols.length === 1 ? protocols[0] as string : undefined
    const lower = p?.toLowerCase()
    if (p === undefined || !offeredProtocols.some((o) => o.toLowerCase() === lower)) {
      return fail(`WebSocket protocol violation: unexpected Sec-WebSocket-Protocol from server: ${quote(protocols.join(", "))}`)
    }
    subprotocol = p
  }
  const extensions = headerValues(raw, "sec-websocket-extensions").filter((v) => trimAscii(v) !== "").join(", ")
  if (extensions !== "" && !offeredExtensions) {
    return fail(`WebSocket protocol violation: unexpected Sec-WebSocket-Extensions from server: ${quote(extensions)}`)
  }
  return { _tag: "Ok", subprotocol, extensions }
}
