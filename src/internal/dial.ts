/**
 * The client side of the opening handshake, through node:http / node:https
 * (so agents, proxies and TLS options work as they do for any request).
 *
 * @internal
 */
import { randomBytes } from "node:crypto"
import * as Http from "node:http"
import * as Https from "node:https"
import type { Duplex } from "node:stream"
import type * as Tls from "node:tls"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Codec } from "../Codec.js"
import type { Conn } from "../Conn.js"
import { HandshakeError } from "../Errors.js"
import * as Extension from "../Extension.js"
import * as Handshake from "../Handshake.js"
import { acceptKey, tracedSpan } from "./accept.js"
import * as conn from "./conn.js"
import { compressionOptions, compressionSession, type ConnOptions, connConfig } from "./options.js"

/** @internal */
export interface DialOptions extends ConnOptions {
  /** Offered in this order. */
  readonly subprotocols?: ReadonlyArray<string> | undefined
  /** Extra request headers; the handshake's own headers win over these. */
  readonly headers?: Readonly<Record<string, string>> | ReadonlyArray<readonly [string, string]> | undefined
  /** Overrides the `Host` header. */
  readonly host?: string | undefined
  /** The `http.Agent` (or `https.Agent`) to connect with. */
  readonly agent?: Http.Agent | undefined
  /** TLS options for `wss:` and `https:` URLs. */
  readonly tls?: Tls.ConnectionOptions | undefined
  /** Default 30 seconds, on the Effect `Clock`. */
  readonly handshakeTimeout?: Duration.DurationInput | undefined
  /** Largest response head, default 16 KiB. */
  readonly maxHeaderSize?: number | undefined
}

/** @internal */
export interface HandshakeResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
}

interface Upgraded {
  readonly response: Http.IncomingMessage
  readonly socket: Duplex
  readonly head: Buffer
}

const DEFAULT_HANDSHAKE_TIMEOUT = Duration.seconds(30)
const BODY_LIMIT = 1024

/** Reads up to 1024 bytes of a refused handshake's body, then drops the response. */
const refusal = (response: Http.IncomingMessage, resume: (error: HandshakeError) => void, expected: Expected): void => {
  const chunks: Array<Buffer> = []
  let size = 0
  // not back to a keep-alive pool: this connection was for a WebSocket
  const socket = response.socket
  const done = () => {
    response.removeAllListeners("data")
    socket.destroy()
    response.destroy()
    const body = Buffer.concat(chunks).subarray(0, BODY_LIMIT)
    resume(
      new HandshakeError({
        message: refusalMessage(response, expected),
        status: response.statusCode,
        headers: response.headers,
        body: new Uint8Array(body)
      })
    )
  }
  response.on("data", (chunk: Buffer) => {
    chunks.push(chunk)
    size += chunk.length
    if (size >= BODY_LIMIT) done()
  })
  response.on("end", done)
  response.on("error", done)
}

interface Expected {
  readonly accept: string
  readonly protocols: ReadonlyArray<string>
  readonly extensions: boolean
}

// Node reports a 101 without the upgrade headers as a plain response: say what is wrong with it.
const refusalMessage = (response: Http.IncomingMessage, expected: Expected): string => {
  if (response.statusCode === 101) {
    const check = Handshake.checkResponse(
      { status: 101, rawHeaders: response.rawHeaders },
      expected.accept,
      expected.protocols,
      expected.extensions
    )
    if (check._tag === "Reject") return check.message
  }
  return `expected handshake response status code 101 but got ${response.statusCode}`
}

const headerPairs = (headers: DialOptions["headers"]): ReadonlyArray<readonly [string, string]> =>
  headers === undefined ? [] : Array.isArray(headers) ? headers : Object.entries(headers)

/** @internal */
export const dial = (
  url: string | URL,
  options: DialOptions = {}
): Effect.Effect<{ readonly conn: Conn; readonly response: HandshakeResponse }, HandshakeError, Scope.Scope | Codec> =>
  Effect.gen(function*() {
    const codec = yield* Codec
    let target: URL
    try {
      target = new URL(url)
    } catch (cause) {
      return yield* new HandshakeError({ message: `invalid URL ${String(url)}`, cause })
    }
    const scheme = target.protocol
    if (scheme !== "ws:" && scheme !== "wss:" && scheme !== "http:" && scheme !== "https:") {
      return yield* new HandshakeError({ message: `unexpected url scheme ${JSON.stringify(scheme)}` })
    }
    const secure = scheme === "wss:" || scheme === "https:"
    const compression = compressionOptions(options)
    const invalid = Extension.checkOptions(compression)
    if (invalid !== undefined) return yield* Effect.dieMessage(`invalid compression options: ${invalid}`)
    const key = randomBytes(16).toString("base64")
    const protocols = options.subprotocols ?? []
    const extensions = Extension.clientOffer(compression) ?? ""
    let headers: Array<readonly [string, string]>
    try {
      headers = Handshake.requestHeaders({
        key,
        host: options.host ?? target.host,
        protocols,
        extensions,
        userHeaders: headerPairs(options.headers)
      })
    } catch (cause) {
      return yield* new HandshakeError({ message: cause instanceof Error ? cause.message : String(cause), cause })
    }

    // Whatever the handshake leaves behind is released with the scope unless the connection took it.
    const pending: { request?: Http.ClientRequest | undefined; socket?: Duplex | undefined } = {}
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        pending.request?.destroy()
        pending.socket?.destroy()
      })
    )

    const expected: Expected = { accept: acceptKey(key), protocols, extensions: extensions !== "" }
    const upgraded = yield* Effect.async<Upgraded, HandshakeError>((resume) => {
      const request = (secure ? Https : Http).request({
        ...(secure ? options.tls : undefined),
        protocol: secure ? "https:" : "http:",
        hostname: target.hostname.startsWith("[") ? target.hostname.slice(1, -1) : target.hostname,
        port: target.port === "" ? (secure ? 443 : 80) : Number(target.port),
        path: target.pathname + target.search,
        method: "GET",
        headers: headers.flat(),
        setHost: false,
        agent: options.agent,
        maxHeaderSize: options.maxHeaderSize ?? 16384
      })
      pending.request = request
      request.on("upgrade", (response: Http.IncomingMessage, socket: Duplex, head: Buffer) => {
        pending.request = undefined
        pending.socket = socket
        resume(Effect.succeed({ response, socket, head }))
      })
      request.on("response", (response: Http.IncomingMessage) => {
        pending.request = undefined
        refusal(response, (error) => resume(Effect.fail(error)), expected)
      })
      request.on("error", (cause: Error) => {
        pending.request = undefined
        resume(Effect.fail(new HandshakeError({ message: `failed to WebSocket dial: ${cause.message}`, cause })))
      })
      request.end()
      return Effect.sync(() => request.destroy())
    }).pipe(
      Effect.timeoutFail({
        duration: options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
        onTimeout: () => new HandshakeError({ message: "WebSocket handshake timed out" })
      })
    )

    const { head, response, socket } = upgraded
    socket.on("error", () => {})
    const check = Handshake.checkResponse(
      { status: response.statusCode ?? 0, rawHeaders: response.rawHeaders },
      expected.accept,
      expected.protocols,
      expected.extensions
    )
    if (check._tag === "Reject") {
      socket.destroy()
      pending.socket = undefined
      return yield* new HandshakeError({ message: check.message, status: response.statusCode, headers: response.headers })
    }
    const deflate = Extension.acceptResponse(check.extensions, compression)
    if (deflate._tag === "Reject") {
      socket.destroy()
      pending.socket = undefined
      return yield* new HandshakeError({ message: deflate.message, status: response.statusCode, headers: response.headers })
    }
    const s = socket as Partial<{ setNoDelay(noDelay: boolean): void }>
    s.setNoDelay?.(true)
    const c = yield* conn.make(
      connConfig(options, {
        role: "client",
        socket,
        head,
        codec,
        subprotocol: check.subprotocol,
        extensions: check.extensions,
        compression: compressionSession("client", deflate.negotiated, compression)
      })
    )
    pending.socket = undefined
    return { conn: c, response: { status: response.statusCode ?? 101, headers: response.headers } }
  }).pipe(tracedSpan("WebSocket.dial", { url: String(url) }))
