/**
 * The server side of the opening handshake, over a socket taken from Node's
 * HTTP server: either a plain `'upgrade'` event or an @effect/platform
 * `HttpServerRequest` served by `NodeHttpServer`.
 *
 * @internal
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Crypto from "node:crypto"
import type * as Http from "node:http"
import type { Duplex } from "node:stream"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import { Codec } from "../Codec.js"
import type { Conn } from "../Conn.js"
import { HandshakeError } from "../Errors.js"
import * as Extension from "../Extension.js"
import * as Handshake from "../Handshake.js"
import * as conn from "./conn.js"
import { compressionOptions, compressionSession, type ConnOptions, connConfig } from "./options.js"

/** @internal */
export interface AcceptOptions extends ConnOptions, Handshake.AcceptOptions {
  /** Extra headers for the 101 response. */
  readonly headers?: ReadonlyArray<readonly [string, string]> | undefined
}

/** @internal */
export interface NodeUpgrade {
  readonly request: Http.IncomingMessage
  readonly socket: Duplex
  readonly head: Uint8Array
}

// `hash` (Node ≥ 20.12) is a one-shot call without createHash's Hash object
const sha1Base64: (data: string) => string = typeof Crypto.hash === "function"
  ? (data) => Crypto.hash("sha1", data, "base64")
  : (data) => Crypto.createHash("sha1").update(data).digest("base64")

/** @internal */
export const acceptKey = (key: string): string => sha1Base64(key + Handshake.GUID)

// Bytes that followed an upgrade request, captured before @effect/platform's own listener drops them.
const heads = new WeakMap<Http.IncomingMessage, Buffer>()
const prepared = new WeakSet<object>()
const ignore = () => {}

/**
 * Makes an `http.Server` safe for WebSocket upgrades inside
 * @effect/platform: an early `'upgrade'` listener keeps the bytes that came
 * with the request and adds an `'error'` listener so a peer reset before the
 * route runs cannot crash the process.
 *
 * @internal
 */
export const prepareServer = <S extends Http.Server>(server: S): S => {
  if (prepared.has(server)) return server
  prepared.add(server)
  server.prependListener("upgrade", (request: Http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", ignore)
    if (head.length > 0) heads.set(request, head)
  })
  return server
}

const rejectOn = (socket: Duplex, reply: Handshake.HttpReply, message: string): HandshakeError => {
  if (!socket.destroyed) {
    socket.end(Handshake.errorReply(reply))
    // a peer that never reads must not hold the socket
    const timer = setTimeout(() => socket.destroy(), 5000)
    timer.unref()
    socket.once("close", () => clearTimeout(timer))
  }
  return new HandshakeError({
    message,
    status: reply.status,
    headers: Object.fromEntries(reply.headers),
    body: new TextEncoder().encode(reply.body).subarray(0, 1024)
  })
}

/** The tracer Effect uses when none is installed: its spans are seen by nobody. */
const nativeTracer = Effect.runSync(Effect.tracer)

/**
 * `Effect.withSpan`, but only when a tracer is installed (e.g. OpenTelemetry):
 * a span costs ~16 KiB of allocations per connection, a large part of a
 * handshake, and Effect's own tracer would only throw it away.
 *
 * @internal
 */
export const tracedSpan = (name: string, attributes?: Record<string, unknown>) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(
    Effect.tracer,
    (tracer) =>
      tracer === nativeTracer
        ? effect
        : Effect.withSpan(effect, name, attributes === undefined ? { captureStackTrace: false } : { attributes, captureStackTrace: false })
  )

const isServerRequest = (u: unknown): u is HttpServerRequest.HttpServerRequest =>
  Predicate.hasProperty(u, HttpServerRequest.TypeId)

/** @internal */
export const accept = (
  request: HttpServerRequest.HttpServerRequest | NodeUpgrade,
  options: AcceptOptions = {}
): Effect.Effect<Conn, HandshakeError, Scope.Scope | Codec> => {
  // The running connection's fiber keeps this effect (and what it captured) for the connection's
  // whole life: the request is let go as soon as the handshake has read it.
  let pending: HttpServerRequest.HttpServerRequest | NodeUpgrade | undefined = request
  return Effect.flatMap(Codec, (codec) => {
    const taken = pending
    pending = undefined
    if (taken === undefined) return Effect.dieMessage("accept: an upgrade request can be accepted only once")
    return handshake(taken, options, codec)
  }).pipe(
    tracedSpan("WebSocket.accept"),
    // made outside the span: the connection's runtime would keep the span alive
    Effect.flatMap(conn.make)
  )
}

/** The server's side of the opening handshake, up to the connection's configuration. */
const handshake = (
  request: HttpServerRequest.HttpServerRequest | NodeUpgrade,
  options: AcceptOptions,
  codec: Codec["Type"]
): Effect.Effect<conn.ConnConfig, HandshakeError> => {
  const compression = compressionOptions(options)
  const invalid = Extension.checkOptions(compression)
  if (invalid !== undefined) return Effect.dieMessage(`invalid compression options: ${invalid}`)
  let upgrade: NodeUpgrade
  if (isServerRequest(request)) {
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    // Node marks requests that came through the 'upgrade' event
    if ((incoming as Partial<{ upgrade: boolean }>).upgrade !== true) {
      // A plain request: the socket belongs to HTTP, so answer through the platform's response.
      const response = NodeHttpServerRequest.toServerResponse(request)
      const reply: Handshake.HttpReply = {
        status: 426,
        headers: [["Connection", "Upgrade"], ["Upgrade", "websocket"], ["Content-Type", "text/plain; charset=utf-8"]],
        body: "WebSocket protocol violation: Connection header does not contain Upgrade\n"
      }
      if (!response.headersSent) {
        response.writeHead(reply.status, Object.fromEntries(reply.headers))
        response.end(reply.body)
      }
      return Effect.fail(
        new HandshakeError({
          message: "not an upgrade request",
          status: reply.status,
          headers: Object.fromEntries(reply.headers)
        })
      )
    }
    const socket = incoming.socket
    socket.on("error", ignore)
    // Whatever the route returns later must not reach the upgraded stream.
    const response = NodeHttpServerRequest.toServerResponse(request)
    response.detachSocket(incoming.socket)
    response.end()
    const server = (socket as Partial<{ server: Http.Server }>).server
    if (server !== undefined) prepareServer(server)
    const head = heads.get(incoming)
    heads.delete(incoming)
    upgrade = { request: incoming, socket, head: head ?? new Uint8Array(0) }
  } else {
    upgrade = request
    upgrade.socket.on("error", ignore)
  }
  const { head, socket } = upgrade
  const req = upgrade.request
  const check = Handshake.checkRequest(
    {
      method: req.method ?? "",
      httpVersion: req.httpVersion,
      url: req.url ?? "/",
      rawHeaders: req.rawHeaders,
      secure: (socket as Partial<{ encrypted: boolean }>).encrypted === true
    },
    options
  )
  if (check._tag === "Reject") return Effect.fail(rejectOn(socket, check.reply, check.message))
  if (socket.destroyed || !socket.writable) {
    return Effect.fail(new HandshakeError({ message: "the connection closed during the handshake" }))
  }
  const deflate = Extension.negotiateServer(check.extensionOffers, compression)
  const extensions = deflate?.header ?? ""
  socket.write(Handshake.acceptReply(acceptKey(check.key), check.subprotocol, extensions, options.headers))
  const s = socket as Partial<{ setNoDelay(noDelay: boolean): void; setTimeout(ms: number): void }>
  s.setNoDelay?.(true)
  s.setTimeout?.(0)
  return Effect.succeed(
    connConfig(options, {
      role: "server",
      socket,
      head,
      codec,
      subprotocol: check.subprotocol,
      extensions,
      compression: compressionSession("server", deflate?.negotiated, compression)
    })
  )
}
