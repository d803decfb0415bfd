import { createHash, randomBytes } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import type { Duplex } from "node:stream"
import * as fc from "fast-check"
import { afterEach, describe, expect, it } from "vitest"
import WebSocket, { WebSocketServer } from "ws"
import * as Handshake from "../src/Handshake.js"
import type { AcceptOptions, HttpReply, RequestHead, ResponseHead, ServerCheck } from "../src/Handshake.js"
import * as PathMatch from "../src/internal/pathMatch.js"

const KEY = "dGhlIHNhbXBsZSBub25jZQ=="
const acceptOf = (key: string) => createHash("sha1").update(key + Handshake.GUID).digest("base64")

type Headers = ReadonlyArray<readonly [string, string]>

const BASE: Headers = [
  ["Host", "example.com"],
  ["Connection", "Upgrade"],
  ["Upgrade", "websocket"],
  ["Sec-WebSocket-Version", "13"],
  ["Sec-WebSocket-Key", KEY]
]

/** A request: BASE with `set` replacing same-named lines (undefined value = remove), `add` appended. */
const request = (
  opts: { method?: string; httpVersion?: string; url?: string; set?: Record<string, string | undefined>; add?: Headers } = {}
): RequestHead => {
  const set = opts.set ?? {}
  const lower = new Map(Object.entries(set).map(([k, v]) => [k.toLowerCase(), v]))
  const raw: Array<string> = []
  for (const [name, value] of BASE) {
    const l = name.toLowerCase()
    if (lower.has(l)) continue
    raw.push(name, value)
  }
  for (const [name, value] of Object.entries(set)) if (value !== undefined) raw.push(name, value)
  for (const [name, value] of opts.add ?? []) raw.push(name, value)
  return { method: opts.method ?? "GET", httpVersion: opts.httpVersion ?? "1.1", url: opts.url ?? "/", rawHeaders: raw }
}

const expectReject = (check: ServerCheck, status: number): HttpReply & { message: string } => {
  if (check._tag !== "Reject") throw new Error(`expected a ${status} rejection, got Ok`)
  expect(check.reply.status).toBe(status)
  expect(check.reply.body).toBe((check.reply.status === 403 && check.reply.body === "Forbidden\n" ? "Forbidden" : check.message) + "\n")
  expect(check.reply.headers).toContainEqual(["Content-Type", "text/plain; charset=utf-8"])
  return { ...check.reply, message: check.message }
}

const expectOk = (check: ServerCheck) => {
  if (check._tag !== "Ok") throw new Error(`expected Ok, got ${check.reply.status}: ${check.message}`)
  return check
}

/** The reply headers other than the generic text/plain ones. */
const extraHeaders = (reply: HttpReply) =>
  reply.headers.filter(([n]) => n !== "Content-Type" && n !== "X-Content-Type-Options")

describe("headers", () => {
  it("headerValues collects every line case-insensitively, in order", () => {
    const raw = ["Foo", "1", "bar", "x", "FOO", "2", "foo", ""]
    expect(Handshake.headerValues(raw, "foo")).toEqual(["1", "2", ""])
    expect(Handshake.headerValues(raw, "BAR")).toEqual(["x"])
    expect(Handshake.headerValues(raw, "baz")).toEqual([])
  })

  it("hasToken splits on commas across lines, trims, ignores case", () => {
    expect(Handshake.hasToken(["keep-alive, Upgrade"], "upgrade")).toBe(true)
    expect(Handshake.hasToken(["keep-alive", " UPGRADE "], "upgrade")).toBe(true)
    expect(Handshake.hasToken(["keep-alive,upgrade"], "Upgrade")).toBe(true)
    expect(Handshake.hasToken(["upgrade-ish"], "upgrade")).toBe(false)
    expect(Handshake.hasToken(["up grade"], "upgrade")).toBe(false)
    expect(Handshake.hasToken([], "upgrade")).toBe(false)
  })

  it("isToken follows RFC 7230 tchar", () => {
    for (const t of ["chat", "v1.json.api", "a!#$%&'*+-.^_`|~9"]) expect(Handshake.isToken(t)).toBe(true)
    for (const t of ["", "a b", "a,b", "a;b", "a\"b", "a/b", "a\r\nb", "é", "a:b", "(a)"]) expect(Handshake.isToken(t)).toBe(false)
  })

  it("isValidKey: base64 of exactly 16 bytes", () => {
    expect(Handshake.isValidKey(KEY)).toBe(true)
    expect(Handshake.isValidKey(`  ${KEY}\t`)).toBe(true)
    expect(Handshake.isValidKey(randomBytes(16).toString("base64"))).toBe(true)
    // Go's decoder is not strict about the unused bits of the last character.
    expect(Handshake.isValidKey("AAAAAAAAAAAAAAAAAAAAAB==")).toBe(true)
    expect(Handshake.isValidKey(randomBytes(15).toString("base64"))).toBe(false) // 20 chars, no padding
    expect(Handshake.isValidKey(randomBytes(17).toString("base64"))).toBe(false) // 24 chars, one "="
    expect(Handshake.isValidKey(KEY.slice(0, 22))).toBe(false) // padding required
    expect(Handshake.isValidKey(KEY.slice(0, 23))).toBe(false)
    expect(Handshake.isValidKey(KEY + "=")).toBe(false)
    expect(Handshake.isValidKey("dGhlIHNhbXBsZSBub25jZQ-_")).toBe(false) // URL alphabet
    expect(Handshake.isValidKey("dGhlIHNhbXBsZSBub2_jZQ==")).toBe(false)
    expect(Handshake.isValidKey("dGhlIHNhbXBs ZSBub25jZQ==")).toBe(false)
    expect(Handshake.isValidKey("")).toBe(false)
    expect(Handshake.isValidKey(`\u00a0${KEY}`)).toBe(false) // a latin1 byte, not whitespace
  })

  it("GUID gives RFC 6455's example accept value", () => {
    expect(acceptOf(KEY)).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
  })
})

describe("checkRequest", () => {
  it("accepts a minimal valid request", () => {
    const ok = expectOk(Handshake.checkRequest(request(), {}))
    expect(ok).toEqual({ _tag: "Ok", key: KEY, subprotocol: "", extensionOffers: "" })
  })

  it("426 for HTTP/1.0, without extra headers", () => {
    const r = expectReject(Handshake.checkRequest(request({ httpVersion: "1.0" }), {}), 426)
    expect(extraHeaders(r)).toEqual([])
    expect(r.message).toBe("WebSocket protocol violation: handshake request must be at least HTTP/1.1: \"HTTP/1.0\"")
    expectReject(Handshake.checkRequest(request({ httpVersion: "0.9" }), {}), 426)
    expectReject(Handshake.checkRequest(request({ httpVersion: "junk" }), {}), 426)
    expectOk(Handshake.checkRequest(request({ httpVersion: "2.0" }), {}))
  })

  it("426 with Connection: Upgrade and Upgrade: websocket when the Connection token is missing", () => {
    for (const connection of [undefined, "keep-alive", "upgrade-please", ""]) {
      const r = expectReject(Handshake.checkRequest(request({ set: { Connection: connection } }), {}), 426)
      expect(extraHeaders(r)).toEqual([["Connection", "Upgrade"], ["Upgrade", "websocket"]])
      expect(r.message).toContain("Connection header")
    }
  })

  it("426 with the same headers when the Upgrade token is missing", () => {
    for (const upgrade of [undefined, "h2c", "websockets", ""]) {
      const r = expectReject(Handshake.checkRequest(request({ set: { Upgrade: upgrade } }), {}), 426)
      expect(extraHeaders(r)).toEqual([["Connection", "Upgrade"], ["Upgrade", "websocket"]])
      expect(r.message).toContain("Upgrade header")
    }
  })

  it("finds the tokens among several values and lines, in any case", () => {
    expectOk(Handshake.checkRequest(request({ set: { Connection: "keep-alive, UPGRADE", Upgrade: "h2c, WebSocket" } }), {}))
    expectOk(
      Handshake.checkRequest(
        request({ set: { Connection: "keep-alive", Upgrade: "h2c" }, add: [["connection", "Upgrade"], ["UPGRADE", "websocket"]] }),
        {}
      )
    )
  })

  it("405 for a method other than GET, checked after the header checks", () => {
    const r = expectReject(Handshake.checkRequest(request({ method: "POST" }), {}), 405)
    expect(extraHeaders(r)).toEqual([])
    expect(r.message).toBe("WebSocket protocol violation: handshake request method is not GET but \"POST\"")
    // A POST without Upgrade gets 426, not 405; a POST over HTTP/1.0 too.
    expectReject(Handshake.checkRequest(request({ method: "POST", set: { Upgrade: undefined } }), {}), 426)
    expectReject(Handshake.checkRequest(request({ method: "POST", set: { Connection: "close" } }), {}), 426)
    expectReject(Handshake.checkRequest(request({ method: "POST", httpVersion: "1.0" }), {}), 426)
    expectReject(Handshake.checkRequest(request({ method: "get" }), {}), 405)
  })

  it("400 with Sec-WebSocket-Version: 13 for another version", () => {
    for (const version of [undefined, "8", "12", "13, 8", "", "013"]) {
      const r = expectReject(Handshake.checkRequest(request({ set: { "Sec-WebSocket-Version": version } }), {}), 400)
      expect(extraHeaders(r)).toEqual([["Sec-WebSocket-Version", "13"]])
      expect(r.message).toContain("unsupported WebSocket protocol version")
    }
    // The first line counts, as with Go's Header.Get.
    expectOk(Handshake.checkRequest(request({ add: [["Sec-WebSocket-Version", "8"]] }), {}))
    // A POST with a bad version is a 405 (method first).
    expectReject(Handshake.checkRequest(request({ method: "PUT", set: { "Sec-WebSocket-Version": "8" } }), {}), 405)
  })

  it("400 for a missing, repeated or malformed key", () => {
    const missing = expectReject(Handshake.checkRequest(request({ set: { "Sec-WebSocket-Key": undefined } }), {}), 400)
    expect(missing.message).toBe("WebSocket protocol violation: missing Sec-WebSocket-Key")
    expect(extraHeaders(missing)).toEqual([])
    const twice = expectReject(Handshake.checkRequest(request({ add: [["sec-websocket-key", KEY]] }), {}), 400)
    expect(twice.message).toBe("WebSocket protocol violation: multiple Sec-WebSocket-Key headers")
    for (const key of [
      "",
      KEY.slice(0, 22),
      KEY + "=",
      randomBytes(15).toString("base64"),
      randomBytes(17).toString("base64"),
      "dGhlIHNhbXBsZSBub25jZQ-_"
    ]) {
      const r = expectReject(Handshake.checkRequest(request({ set: { "Sec-WebSocket-Key": key } }), {}), 400)
      expect(r.message).toContain("invalid Sec-WebSocket-Key")
    }
    // The version is checked before the key.
    const both = expectReject(
      Handshake.checkRequest(request({ set: { "Sec-WebSocket-Version": "8", "Sec-WebSocket-Key": undefined } }), {}),
      400
    )
    expect(both.message).toContain("version")
  })

  it("returns the trimmed key", () => {
    expect(expectOk(Handshake.checkRequest(request({ set: { "Sec-WebSocket-Key": ` ${KEY}  ` } }), {})).key).toBe(KEY)
  })

  it("checks the key before the origin", () => {
    const r = expectReject(
      Handshake.checkRequest(request({ set: { "Sec-WebSocket-Key": "short", Origin: "http://evil.com" } }), {}),
      400
    )
    expect(r.message).toContain("Sec-WebSocket-Key")
  })

  it("joins all extension offers with \", \"", () => {
    const ok = expectOk(
      Handshake.checkRequest(
        request({ add: [["Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"], ["sec-websocket-extensions", "x-foo"]] }),
        {}
      )
    )
    expect(ok.extensionOffers).toBe("permessage-deflate; client_max_window_bits, x-foo")
  })

  it("renders odd header values safely in messages and bodies", () => {
    const r = expectReject(Handshake.checkRequest(request({ set: { Connection: "k\u00e9ep\"\\\t" } }), {}), 426)
    expect(r.message).toBe("WebSocket protocol violation: Connection header \"k\\xe9ep\\\"\\\\\\t\" does not contain Upgrade")
    expect(/^[\x20-\x7e\n]*$/.test(r.body)).toBe(true)
  })
})

describe("origin check", () => {
  const check = (origin: string | undefined, opts: AcceptOptions = {}, host = "example.com", url = "/") =>
    Handshake.checkRequest(request({ url, set: { Host: host, Origin: origin } }), opts)
  const allowed = (origin: string | undefined, opts: AcceptOptions = {}, host = "example.com", url = "/") =>
    expect(check(origin, opts, host, url)._tag).toBe("Ok")
  const denied = (origin: string | undefined, opts: AcceptOptions = {}, host = "example.com", url = "/") =>
    expectReject(check(origin, opts, host, url), 403)

  it("allows a request without Origin (non-browser clients)", () => {
    allowed(undefined)
    allowed("")
  })

  it("always allows the request's own host, case-insensitively, port included", () => {
    allowed("http://example.com")
    allowed("https://example.com")
    allowed("http://EXAMPLE.com", {}, "example.COM")
    allowed("http://example.com:8080", {}, "example.com:8080")
    allowed("http://user:pw@example.com/path?q#f")
    allowed("http://[::1]:8080", {}, "[::1]:8080")
    const r = denied("http://example.com:8080")
    expect(r.message).toBe("request Origin \"example.com:8080\" is not authorized for Host \"example.com\"")
    denied("http://example.com", {}, "example.com:8080")
    denied("http://example.com.evil.com")
    denied("http://evil.com")
  })

  it("takes the host from an absolute-form request target (RFC 7230 §5.4)", () => {
    allowed("http://example.com", {}, "other.com", "http://example.com/chat")
    denied("http://other.com", {}, "other.com", "http://example.com/chat")
  })

  it("rejects host-less origins such as null and bare names", () => {
    const r = denied("null")
    expect(r.message).toBe("request Origin \"null\" is not a valid URL with a host")
    denied("harhar.com")
    denied("example.com") // no scheme: a path, not the host
    denied("http:example.com")
    denied("file:///etc/passwd")
  })

  it("rejects origins that do not parse", () => {
    for (const origin of [
      "http://exa mple.com",
      "http://example.com:port",
      "http://[::1",
      ":foo",
      "%zz",
      "http://example.com/%zz",
      "http://ex%41mple.com",
      "http://a\u0001b.com",
      "http://us er@example.com",
      "http://exa{mple.com",
      "a:b/c".replace("a", "") // ":b/c": missing scheme
    ]) {
      const r = denied(origin, { originPatterns: ["*"] })
      expect(r.message).toMatch(/^failed to parse Origin header/)
    }
  })

  it("matches patterns against host[:port], lower-cased", () => {
    allowed("https://chat.example.org", { originPatterns: ["*.example.org"] })
    allowed("https://CHAT.Example.ORG", { originPatterns: ["*.EXAMPLE.org"] })
    allowed("https://a.b.example.org", { originPatterns: ["*.example.org"] }) // * crosses dots
    denied("https://example.org", { originPatterns: ["*.example.org"] })
    denied("https://chat.example.org:8443", { originPatterns: ["*.example.org"] }) // the port is part of the target
    allowed("https://chat.example.org:8443", { originPatterns: ["*.example.org:*"] })
    allowed("https://example.org:8443", { originPatterns: ["example.org:84?3"] })
    allowed("https://b1.example.org", { originPatterns: ["[a-c][0-9].example.org"] })
    denied("https://d1.example.org", { originPatterns: ["[a-c][0-9].example.org"] })
    allowed("https://d1.example.org", { originPatterns: ["[^a-c]1.example.org"] })
    denied("https://a1.example.org", { originPatterns: ["[^a-c]1.example.org"] })
    allowed("http://x.com", { originPatterns: ["nope.com", "x.com"] })
  })

  it("matches patterns containing :// against scheme://host", () => {
    const host = "ws.example.net"
    const opts = { originPatterns: ["https://example.com:8443"] }
    allowed("https://example.com:8443", opts, host)
    allowed("HTTPS://EXAMPLE.COM:8443", opts, host)
    denied("http://example.com:8443", opts, host)
    denied("https://example.com", opts, host)
    allowed("http://dev.example.com", { originPatterns: ["http://*.example.com"] }, host)
    denied("https://dev.example.com", { originPatterns: ["http://*.example.com"] }, host)
    // Without ://, the scheme plays no part.
    allowed("ftp://example.com", { originPatterns: ["example.com"] }, host)
  })

  it("lets * authorise an empty host, as coder/websocket does", () => {
    allowed("null", { originPatterns: ["*"] })
  })

  it("rejects with a bare Forbidden when a malformed pattern is reached first", () => {
    const r = denied("http://evil.com", { originPatterns: ["[a-"] })
    expect(r.body).toBe("Forbidden\n")
    expect(r.message).toBe("failed to parse origin pattern \"[a-\": syntax error in pattern")
    denied("http://x.com", { originPatterns: ["[", "x.com"] })
    // An earlier match wins before the malformed pattern is reached.
    allowed("http://x.com", { originPatterns: ["x.com", "["] })
    expect(Handshake.isValidOriginPattern("*.example.com")).toBe(true)
    expect(Handshake.isValidOriginPattern("[a-")).toBe(false)
  })

  it("insecureSkipVerify disables the check entirely", () => {
    allowed("http://evil.com", { insecureSkipVerify: true })
    allowed("http://exa mple.com", { insecureSkipVerify: true })
    allowed("null", { insecureSkipVerify: true, originPatterns: ["["] })
  })

  it("parseOrigin extracts scheme and host like Go's url.Parse", () => {
    expect(Handshake.parseOrigin("HTTPS://Example.com:443/x")).toEqual({ scheme: "https", host: "Example.com:443" })
    expect(Handshake.parseOrigin("http://example.com:")).toEqual({ scheme: "http", host: "example.com:" })
    expect(Handshake.parseOrigin("http://[fe80::1%25en0]:80")).toEqual({ scheme: "http", host: "[fe80::1%en0]:80" })
    expect(Handshake.parseOrigin("http://%C3%A9.com")).toEqual({ scheme: "http", host: "\u00c3\u00a9.com" })
    expect(Handshake.parseOrigin("//example.com")).toEqual({ scheme: "", host: "example.com" })
    expect(Handshake.parseOrigin("null")).toEqual({ scheme: "", host: "" })
    expect(Handshake.parseOrigin("mailto:a@b")).toEqual({ scheme: "mailto", host: "" })
    expect(Handshake.parseOrigin("*")).toEqual({ scheme: "", host: "" })
    expect(typeof Handshake.parseOrigin("1http://x")).toBe("string") // no scheme, colon in first segment
    expect(typeof Handshake.parseOrigin("http://x.com#%zz")).toBe("string")
    // Go only checks what follows the last colon.
    expect(Handshake.parseOrigin("http://x.com:80:80")).toEqual({ scheme: "http", host: "x.com:80:80" })
    expect(typeof Handshake.parseOrigin("http://x.com:80:8a")).toBe("string")
  })
})

describe("subprotocol selection", () => {
  const select = (offers: ReadonlyArray<string>, subprotocols: ReadonlyArray<string>) =>
    expectOk(
      Handshake.checkRequest(request({ add: offers.map((o) => ["Sec-WebSocket-Protocol", o] as const) }), { subprotocols })
    ).subprotocol

  it("follows the server's preference order, not the client's", () => {
    expect(select(["a, b"], ["b", "a"])).toBe("b")
    expect(select(["b, a"], ["a", "b"])).toBe("a")
  })

  it("compares case-insensitively and returns the client's spelling", () => {
    expect(select(["Chat, SUPERchat"], ["superChat"])).toBe("SUPERchat")
    expect(select(["CHAT"], ["chat"])).toBe("CHAT")
  })

  it("reads every line and trims tokens", () => {
    expect(select(["a", " b ,c"], ["c"])).toBe("c")
    expect(select(["a", "b"], ["b"])).toBe("b")
  })

  it("is \"\" without a common protocol, without offers, or without server protocols", () => {
    expect(select(["a, b"], ["c"])).toBe("")
    expect(select([], ["c"])).toBe("")
    expect(select(["a"], [])).toBe("")
    expect(select(["a,,b"], [""])).toBe("")
    expect(select(["c d, \u00e7"], ["c d", "\u00c7"])).toBe("") // not tokens: never echoed
  })
})

describe("replies", () => {
  it("acceptReply writes the 101 with our headers", () => {
    expect(Handshake.acceptReply(acceptOf(KEY), "", "")).toBe(
      "HTTP/1.1 101 Switching Protocols\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    )
    expect(
      Handshake.acceptReply("abc=", "chat", "permessage-deflate; server_no_context_takeover", [
        ["X-Extra", "1"],
        ["connection", "close"],
        ["SEC-WEBSOCKET-PROTOCOL", "other"],
        ["Content-Length", "0"],
        ["Set-Cookie", "a=b"]
      ])
    ).toBe(
      "HTTP/1.1 101 Switching Protocols\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: abc=\r\n" +
        "Sec-WebSocket-Protocol: chat\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n" +
        "X-Extra: 1\r\n" +
        "Set-Cookie: a=b\r\n\r\n"
    )
  })

  it("acceptReply refuses header injection and non-token subprotocols", () => {
    expect(() => Handshake.acceptReply("x", "chat\r\nX-Evil: 1", "")).toThrow(Handshake.InvalidHeaderError)
    expect(() => Handshake.acceptReply("x", "a b", "")).toThrow(/not an RFC 7230 token/)
    expect(() => Handshake.acceptReply("x", "", "deflate\r\nX-Evil: 1")).toThrow(Handshake.InvalidHeaderError)
    expect(() => Handshake.acceptReply("x\n", "", "")).toThrow(Handshake.InvalidHeaderError)
    expect(() => Handshake.acceptReply("x", "", "", [["X-A", "1\r\nX-Evil: 1"]])).toThrow(Handshake.InvalidHeaderError)
    expect(() => Handshake.acceptReply("x", "", "", [["X-A\r\nX-Evil", "1"]])).toThrow(Handshake.InvalidHeaderError)
    expect(() => Handshake.acceptReply("x", "", "", [["X A", "1"]])).toThrow(Handshake.InvalidHeaderError)
    expect(() => Handshake.acceptReply("x", "", "", [["X-A", "nul\u0000"]])).toThrow(Handshake.InvalidHeaderError)
  })

  it("errorReply writes a complete response that closes the connection", () => {
    const check = Handshake.checkRequest(request({ set: { Upgrade: undefined } }), {})
    if (check._tag !== "Reject") throw new Error("expected a rejection")
    const body = "WebSocket protocol violation: Upgrade header \"\" does not contain websocket\n"
    expect(Handshake.errorReply(check.reply)).toBe(
      "HTTP/1.1 426 Upgrade Required\r\n" +
        "Upgrade: websocket\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\n" +
        "X-Content-Type-Options: nosniff\r\n" +
        `Content-Length: ${body.length}\r\n` +
        "Connection: Upgrade, close\r\n\r\n" +
        body
    )
    expect(Handshake.errorReply({ status: 403, headers: [], body: "é😀\n" })).toBe(
      "HTTP/1.1 403 Forbidden\r\nContent-Length: 7\r\nConnection: close\r\n\r\né😀\n"
    )
    expect(Handshake.errorReply({ status: 400, headers: [["Connection", "close"], ["Content-Length", "99"]], body: "" })).toBe(
      "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    for (const [status, reason] of [[405, "Method Not Allowed"], [426, "Upgrade Required"], [501, "Not Implemented"]] as const) {
      expect(Handshake.errorReply({ status, headers: [], body: "" })).toMatch(new RegExp(`^HTTP/1\\.1 ${status} ${reason}\\r\\n`))
    }
    expect(() => Handshake.errorReply({ status: 400, headers: [["X", "a\rb"]], body: "" })).toThrow(Handshake.InvalidHeaderError)
  })
})

describe("checkResponse", () => {
  const ACCEPT = acceptOf(KEY)
  const GOOD: Headers = [["Upgrade", "websocket"], ["Connection", "Upgrade"], ["Sec-WebSocket-Accept", ACCEPT]]
  const response = (status: number, headers: Headers): ResponseHead => ({ status, rawHeaders: headers.flat() })
  const without = (name: string): Headers => GOOD.filter(([n]) => n !== name)
  const reason = (res: ResponseHead, protocols: ReadonlyArray<string> = [], extensions = false) => {
    const c = Handshake.checkResponse(res, ACCEPT, protocols, extensions)
    return c._tag === "Reject" ? c.message : undefined
  }

  it("accepts a good response", () => {
    expect(Handshake.checkResponse(response(101, GOOD), ACCEPT, [], false)).toEqual({ _tag: "Ok", subprotocol: "", extensions: "" })
    expect(reason(response(101, [["connection", "keep-alive, UPGRADE"], ["upgrade", "WebSocket"], ["sec-websocket-accept", ACCEPT]]))).toBeUndefined()
  })

  it("checks status, Connection, Upgrade and Accept in that order", () => {
    expect(reason(response(200, []))).toBe("expected handshake response status code 101 but got 200")
    expect(reason(response(302, GOOD))).toMatch(/but got 302/)
    expect(reason(response(101, without("Connection")))).toMatch(/Connection header "" does not contain Upgrade/)
    expect(reason(response(101, [["Connection", "close"], ["Sec-WebSocket-Accept", "x"]]))).toMatch(/Connection header "close"/)
    expect(reason(response(101, without("Upgrade")))).toMatch(/Upgrade header "" does not contain websocket/)
    expect(reason(response(101, [...without("Upgrade"), ["Upgrade", "h2c"]]))).toMatch(/Upgrade header "h2c"/)
    expect(reason(response(101, without("Sec-WebSocket-Accept")))).toMatch(/invalid Sec-WebSocket-Accept/)
    expect(reason(response(101, [...without("Sec-WebSocket-Accept"), ["Sec-WebSocket-Accept", ACCEPT.toLowerCase()]]))).toMatch(
      /invalid Sec-WebSocket-Accept/
    )
    expect(reason(response(101, [...without("Sec-WebSocket-Accept"), ["Sec-WebSocket-Accept", acceptOf("x")]]))).toMatch(
      /invalid Sec-WebSocket-Accept/
    )
    expect(reason(response(101, [...GOOD, ["Sec-WebSocket-Accept", ACCEPT]]))).toMatch(/invalid Sec-WebSocket-Accept/)
  })

  it("takes a subprotocol only if offered, case-insensitively, in the server's spelling", () => {
    const withProto = (...values: Array<string>) => response(101, [...GOOD, ...values.map((v) => ["Sec-WebSocket-Protocol", v] as const)])
    expect(Handshake.checkResponse(withProto("CHAT"), ACCEPT, ["a", "chat"], false)).toEqual({
      _tag: "Ok",
      subprotocol: "CHAT",
      extensions: ""
    })
    expect(reason(withProto(), ["chat"])).toBeUndefined() // none chosen: fine, as in coder/websocket
    expect(reason(withProto(""), ["chat"])).toBeUndefined()
    expect(reason(withProto("other"), ["chat"])).toMatch(/unexpected Sec-WebSocket-Protocol from server: "other"/)
    expect(reason(withProto("chat"), [])).toMatch(/unexpected Sec-WebSocket-Protocol/)
    expect(reason(withProto("chat", "chat"), ["chat"])).toMatch(/unexpected Sec-WebSocket-Protocol/)
    expect(reason(withProto("a, chat"), ["a", "chat"])).toMatch(/unexpected Sec-WebSocket-Protocol/)
  })

  it("rejects extensions that were not offered, returns them raw otherwise", () => {
    const withExt = response(101, [...GOOD, ["Sec-WebSocket-Extensions", "permessage-deflate"], ["sec-websocket-extensions", "x-y"]])
    expect(reason(withExt, [], false)).toMatch(/unexpected Sec-WebSocket-Extensions from server: "permessage-deflate, x-y"/)
    expect(Handshake.checkResponse(withExt, ACCEPT, [], true)).toEqual({
      _tag: "Ok",
      subprotocol: "",
      extensions: "permessage-deflate, x-y"
    })
    expect(reason(response(101, [...GOOD, ["Sec-WebSocket-Extensions", " "]]), [], false)).toBeUndefined()
  })
})

describe("requestHeaders", () => {
  const base = { key: KEY, host: "example.com:8080", protocols: [] as ReadonlyArray<string>, extensions: "", userHeaders: [] as Headers }

  it("puts the handshake's headers first, then the user's in order", () => {
    expect(
      Handshake.requestHeaders({
        ...base,
        protocols: ["chat", "superchat"],
        extensions: "permessage-deflate; client_max_window_bits",
        userHeaders: [["Authorization", "Bearer x"], ["X-Trace", "1"], ["x-trace", "2"]]
      })
    ).toEqual([
      ["Host", "example.com:8080"],
      ["Connection", "Upgrade"],
      ["Upgrade", "websocket"],
      ["Sec-WebSocket-Version", "13"],
      ["Sec-WebSocket-Key", KEY],
      ["Sec-WebSocket-Protocol", "chat, superchat"],
      ["Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"],
      ["Authorization", "Bearer x"],
      ["X-Trace", "1"],
      ["x-trace", "2"]
    ])
  })

  it("the handshake's own headers win over user headers of the same name", () => {
    const out = Handshake.requestHeaders({
      ...base,
      userHeaders: [
        ["HOST", "evil.com"],
        ["connection", "close"],
        ["Upgrade", "h2c"],
        ["sec-websocket-version", "8"],
        ["Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA=="],
        ["Sec-WebSocket-Protocol", "sneaky"],
        ["Sec-WebSocket-Extensions", "x-sneaky"],
        ["Origin", "http://example.com"]
      ]
    })
    expect(out).toEqual([
      ["Host", "example.com:8080"],
      ["Connection", "Upgrade"],
      ["Upgrade", "websocket"],
      ["Sec-WebSocket-Version", "13"],
      ["Sec-WebSocket-Key", KEY],
      ["Origin", "http://example.com"]
    ])
  })

  it("refuses header injection and invalid subprotocols", () => {
    const bad = (opts: Partial<typeof base>) => () => Handshake.requestHeaders({ ...base, ...opts })
    expect(bad({ userHeaders: [["X-A", "1\r\nX-Evil: 1"]] })).toThrow(Handshake.InvalidHeaderError)
    expect(bad({ userHeaders: [["X-A", "1\nX-Evil: 1"]] })).toThrow(Handshake.InvalidHeaderError)
    expect(bad({ userHeaders: [["X-A: 1\r\nX-Evil", "1"]] })).toThrow(Handshake.InvalidHeaderError)
    expect(bad({ userHeaders: [["", "1"]] })).toThrow(Handshake.InvalidHeaderError)
    expect(bad({ protocols: ["chat\r\nX-Evil: 1"] })).toThrow(/not an RFC 7230 token/)
    expect(bad({ protocols: ["a b"] })).toThrow(Handshake.InvalidHeaderError)
    expect(bad({ protocols: ["a,b"] })).toThrow(Handshake.InvalidHeaderError)
    expect(bad({ protocols: [""] })).toThrow(Handshake.InvalidHeaderError)
    expect(bad({ protocols: ["chat", "chat"] })).toThrow(/offered twice/)
    expect(bad({ extensions: "permessage-deflate\r\nX-Evil: 1" })).toThrow(Handshake.InvalidHeaderError)
    expect(bad({ host: "example.com\r\nX-Evil: 1" })).toThrow(Handshake.InvalidHeaderError)
    expect(bad({ host: "" })).toThrow(Handshake.InvalidHeaderError)
    expect(bad({ key: "short" })).toThrow(Handshake.InvalidHeaderError)
    expect(bad({ key: ` ${KEY}` })).toThrow(Handshake.InvalidHeaderError)
    // obs-text and tabs are legal in values, as Node's http allows.
    expect(bad({ userHeaders: [["X-A", "caf\u00e9\tx"]] })).not.toThrow()
  })
})

describe("pathMatch (Go path.Match rules)", () => {
  const table: ReadonlyArray<readonly [string, string, boolean]> = [
    ["abc", "abc", true],
    ["*", "abc", true],
    ["*", "", true],
    ["*c", "abc", true],
    ["a*", "a", true],
    ["a*", "abc", true],
    ["a*", "ab/c", false],
    ["a*/b", "abc/b", true],
    ["a*/b", "a/c/b", false],
    ["a*b*c*d*e*/f", "axbxcxdxe/f", true],
    ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true],
    ["a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false],
    ["a*b*c*d*e*/f", "axbxcxdxexxx/fff", false],
    ["a*b?c*x", "abxbbxdbxebxczzx", true],
    ["a*b?c*x", "abxbbxdbxebxczzy", false],
    ["ab[c]", "abc", true],
    ["ab[b-d]", "abc", true],
    ["ab[e-g]", "abc", false],
    ["ab[^c]", "abc", false],
    ["ab[^b-d]", "abc", false],
    ["ab[^e-g]", "abc", true],
    ["a\\*b", "a*b", true],
    ["a\\*b", "ab", false],
    ["a?b", "a☺b", true],
    ["a[^a]b", "a☺b", true],
    ["a???b", "a☺b", false],
    ["a[^a][^a][^a]b", "a☺b", false],
    ["[a-ζ]*", "α", true],
    ["*[a-ζ]", "A", false],
    ["a?b", "a/b", false],
    ["a*b", "a/b", false],
    ["[\\]a]", "]", true],
    ["[\\-]", "-", true],
    ["[x\\-]", "x", true],
    ["[x\\-]", "-", true],
    ["[x\\-]", "z", false],
    ["[\\-x]", "x", true],
    ["[\\-x]", "-", true],
    ["[\\-x]", "a", false],
    ["[!]", "!", true], // only ^ negates, as in Go
    ["[!a]", "b", false],
    ["[/]", "/", true],
    ["*x", "xxx", true],
    ["", "", true],
    ["", "a", false]
  ]
  it.each(table)("match(%j, %j) = %s", (pattern, name, expected) => {
    expect(PathMatch.match(pattern, name)).toBe(expected)
  })

  it.each(["[", "[^", "[]", "[^]", "[]a]", "[-]", "[x-]", "[-x]", "[a-b-c]", "\\", "a\\", "[a", "[\\", "[a-", "[a-\\", "*[", "a[", "*[a", "[\\]"])(
    "malformed %j never matches",
    (pattern) => {
      expect(PathMatch.isValid(pattern)).toBe(false)
      for (const name of ["", "a", "[", "x", "-", "]", pattern]) expect(PathMatch.match(pattern, name)).toBe(false)
    }
  )

  it("is not exponential on pathological patterns", () => {
    expect(PathMatch.match("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", "a".repeat(5000))).toBe(false)
  })

  it("agrees with a regular expression for patterns of literals, * and ?", () => {
    const pattern = fc.array(fc.constantFrom("a", "b", ".", "/", "*", "?"), { maxLength: 8 }).map((a) => a.join(""))
    const name = fc.array(fc.constantFrom("a", "b", ".", "/"), { maxLength: 10 }).map((a) => a.join(""))
    fc.assert(
      fc.property(pattern, name, (p, n) => {
        const re = new RegExp(
          "^" + [...p].map((c) => (c === "*" ? "[^/]*" : c === "?" ? "[^/]" : c === "." ? "\\." : c)).join("") + "$"
        )
        expect(PathMatch.match(p, n)).toBe(re.test(n))
      }),
      { numRuns: 2000 }
    )
  })
})

describe("with real peers on 127.0.0.1", () => {
  const servers: Array<http.Server> = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
  })

  /** A Node server whose upgrade handler is checkRequest + acceptReply/errorReply. */
  const serve = async (options: AcceptOptions) => {
    const server = http.createServer((_req, res) => res.writeHead(404).end())
    servers.push(server)
    server.on("upgrade", (req: http.IncomingMessage, socket: Duplex) => {
      const check = Handshake.checkRequest(
        { method: req.method ?? "", httpVersion: req.httpVersion, url: req.url ?? "", rawHeaders: req.rawHeaders },
        options
      )
      if (check._tag === "Reject") {
        socket.end(Handshake.errorReply(check.reply))
        return
      }
      socket.write(Handshake.acceptReply(acceptOf(check.key), check.subprotocol, ""))
      // Answer the client's close frame (unmasked, empty) and finish.
      socket.once("data", () => socket.end(Buffer.from([0x88, 0x00])))
    })
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  it("a ws client completes the handshake and gets our subprotocol choice", async () => {
    const url = await serve({ subprotocols: ["b", "a"] })
    const ws = new WebSocket(url, ["A", "B"])
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve)
      ws.once("error", reject)
    })
    expect(ws.protocol).toBe("B")
    ws.close()
    await new Promise((r) => ws.once("close", r))
  })

  it("a ws client sees our rejection status", async () => {
    const url = await serve({})
    const ws = new WebSocket(url, { origin: "http://evil.example" })
    const status = await new Promise<number>((resolve, reject) => {
      ws.once("unexpected-response", (_req, res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (c: string) => (body += c))
        res.on("end", () => {
          expect(body).toBe("request Origin \"evil.example\" is not authorized for Host \"" + url.slice(5) + "\"\n")
          resolve(res.statusCode ?? 0)
        })
      })
      ws.once("open", () => reject(new Error("opened")))
    })
    expect(status).toBe(403)
  })

  it("a ws server accepts requestHeaders and passes checkResponse", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: (set) => set.has("two") ? "two" : false })
    await new Promise((r) => wss.once("listening", r))
    const port = (wss.address() as AddressInfo).port
    try {
      const key = randomBytes(16).toString("base64")
      const headers = Handshake.requestHeaders({
        key,
        host: `127.0.0.1:${port}`,
        protocols: ["one", "two"],
        extensions: "",
        userHeaders: [["X-Test", "1"]]
      })
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, path: "/", headers: headers.flat() })
        req.once("upgrade", (res: http.IncomingMessage, socket: Duplex) => {
          socket.destroy()
          resolve(res)
        })
        req.once("response", (res) => reject(new Error(`status ${res.statusCode}`)))
        req.once("error", reject)
        req.end()
      })
      const check = Handshake.checkResponse(
        { status: res.statusCode ?? 0, rawHeaders: res.rawHeaders },
        acceptOf(key),
        ["one", "two"],
        false
      )
      expect(check).toEqual({ _tag: "Ok", subprotocol: "two", extensions: "" })
      expect(Handshake.checkResponse({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders }, acceptOf(KEY), ["one", "two"], false)._tag).toBe("Reject")
    } finally {
      await new Promise((r) => wss.close(r))
    }
  })
})
