/**
 * Opening WebSocket connections: `accept` on the server, `dial` on the
 * client. Both need a `Codec` (e.g. `Codec.layer`) and a `Scope`: the
 * connection lives until the scope closes.
 *
 * @since 0.1.0
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as Http from "node:http"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Codec } from "./Codec.js"
import type { Conn } from "./Conn.js"
import type { HandshakeError } from "./Errors.js"
import * as internalAccept from "./internal/accept.js"
import * as internalDial from "./internal/dial.js"

export type {
  /** @since 0.1.0 */
  Conn,
  /** @since 0.1.0 */
  Message,
  /** @since 0.1.0 */
  MessageReader,
  /** @since 0.1.0 */
  MessageType,
  /** @since 0.1.0 */
  MessageWriter,
  /** @since 0.1.0 */
  ReadError
} from "./Conn.js"

/**
 * Options of both roles.
 *
 * - `readLimit`: the largest message in bytes (default 32768, -1 for none).
 * - `closeTimeout`: time for our close frame to be written, and then for the
 *   peer's to arrive (default 5 seconds each), on the Effect `Clock`.
 * - `maxBufferedBytes`: received bytes queued for the application beyond
 *   which the socket is paused (default 1 MiB).
 * - `onPingReceived`: called for every ping; return `false` to skip the pong.
 * - `onPongReceived`: called for every pong.
 * - `compression`: permessage-deflate (RFC 7692): `"disabled"` (the
 *   default), `"context-takeover"` or `"no-context-takeover"`, or
 *   `{ mode, level, threshold, serverMaxWindowBits, clientMaxWindowBits }`.
 *   Messages under `threshold` bytes (128 when this side keeps its context,
 *   else 512) go out uncompressed.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnOptions extends internalAccept.AcceptOptions {}

/**
 * Options of `accept`.
 *
 * - `subprotocols`: ours, in order of preference; the first the client also
 *   offers is chosen (case-insensitive, the client's spelling is returned).
 *   None in common: the handshake succeeds with `conn.subprotocol === ""`.
 * - `originPatterns`: extra authorised origins (the request's own host
 *   always is), e.g. `"*.example.com"` or `"https://example.com:8443"`.
 * - `insecureSkipVerify`: skip the origin check.
 * - `headers`: extra headers for the 101 response.
 *
 * @since 0.1.0
 * @category models
 */
export interface AcceptOptions extends internalAccept.AcceptOptions {}

/**
 * A Node `'upgrade'` event's arguments.
 *
 * @since 0.1.0
 * @category models
 */
export interface NodeUpgrade extends internalAccept.NodeUpgrade {}

/**
 * Options of `dial`: the options of both roles, plus `subprotocols`,
 * `headers`, `host`, `agent`, `tls`, `handshakeTimeout` (default 30 s) and
 * `maxHeaderSize` (default 16 KiB).
 *
 * @since 0.1.0
 * @category models
 */
export interface DialOptions extends internalDial.DialOptions {}

/**
 * The server's handshake response.
 *
 * @since 0.1.0
 * @category models
 */
export interface HandshakeResponse extends internalDial.HandshakeResponse {}

/**
 * Accepts a WebSocket connection from an @effect/platform
 * `HttpServerRequest` (a route of an `HttpRouter` served by
 * `NodeHttpServer`), or from the arguments of a Node `http.Server`
 * `'upgrade'` event. A refused handshake is answered with the right HTTP
 * status and fails with `HandshakeError`.
 *
 * Inside `NodeHttpServer`, keep the connection within the route (it ends
 * with the route's scope) and build the server with {@link prepareServer}.
 * Use a route of an `HttpRouter` (routes are interruptible), or wrap a bare
 * app in `Effect.interruptible`: server shutdown interrupts the handler,
 * which closes the connection with 1001.
 *
 * The returned effect takes over the request's socket: run it once (a
 * second run, e.g. under `Effect.retry`, dies, since the socket is no
 * longer an HTTP request's).
 *
 * @since 0.1.0
 * @category constructors
 */
export const accept: (
  request: HttpServerRequest.HttpServerRequest | NodeUpgrade,
  options?: AcceptOptions
) => Effect.Effect<Conn, HandshakeError, Scope.Scope | Codec> = internalAccept.accept

/**
 * Dials a WebSocket server at a `ws:`, `wss:`, `http:` or `https:` URL.
 *
 * @since 0.1.0
 * @category constructors
 */
export const dial: (
  url: string | URL,
  options?: DialOptions
) => Effect.Effect<{ readonly conn: Conn; readonly response: HandshakeResponse }, HandshakeError, Scope.Scope | Codec> =
  internalDial.dial

/**
 * Prepares an `http.Server` for WebSocket routes served by
 * @effect/platform-node's `NodeHttpServer`: keeps bytes that arrived with an
 * upgrade request, and guards the socket against resets before the route
 * runs. Use it as `NodeHttpServer.layer(() => prepareServer(createServer()), …)`.
 *
 * @since 0.1.0
 * @category utils
 */
export const prepareServer: <S extends Http.Server>(server: S) => S = internalAccept.prepareServer
