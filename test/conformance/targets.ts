/**
 * What the conformance suite and the interop tests run against.
 *
 * A server target is an echo server behind a plain `node:http` server on
 * 127.0.0.1 (the harness here), which also serves the browser test page.
 * A client target is an echo client. Two implementations: `ws` (today's
 * reference, with its known deviations from the strict verdicts) and `ours`
 * (the library, once with each Codec layer: `ours` and `ours-wasm`).
 *
 * Paths the echo server understands (so peers that cannot script a server
 * can still test server-initiated behaviour):
 * - `/close?code=N&reason=R`: close with N and R as soon as the connection opens.
 * - `/ping`: send a ping ("server-ping"); when its pong arrives, send the
 *   text message "pong:<payload>".
 * - anything else: echo every message with its type until the peer closes.
 */
import * as http from "node:http"
import type * as net from "node:net"
import type { Duplex } from "node:stream"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { type PerMessageDeflateOptions, WebSocket as WsClient, WebSocketServer } from "ws"
import * as WebSocket from "../../src/WebSocket.js"
import * as Codec from "../../src/Codec.js"
import type { Conn } from "../../src/Conn.js"
import type { CloseError, MessageTooBig } from "../../src/Errors.js"
import type { Role } from "./cases.js"

// ---------------------------------------------------------------------------
// Interfaces

/**
 * permessage-deflate for a target, in the library's terms; each target maps
 * it to its own options. `mode: "context-takeover"` as a server honours
 * whatever the client asks; `"no-context-takeover"` asks both sides not to
 * keep their context. Window bits: as a server, its own window (announced)
 * and the one it asks of the client; as a client, what it offers.
 */
export interface DeflateConfig {
  readonly mode: "context-takeover" | "no-context-takeover"
  readonly serverMaxWindowBits?: number
  readonly clientMaxWindowBits?: number
  /** Messages shorter than this go out uncompressed; undefined: the target's default. */
  readonly threshold?: number
}

export interface ServerOptions {
  /** Largest message in bytes; -1 for none. */
  readonly readLimit?: number
  /** Subprotocols the server supports, in its order of preference. */
  readonly subprotocols?: ReadonlyArray<string>
  /** permessage-deflate; undefined: disabled. */
  readonly compression?: DeflateConfig
}

export interface ServerHandle {
  /** `ws://127.0.0.1:port/` */
  readonly url: string
  /** `http://127.0.0.1:port/` (the test page is `index.html`). */
  readonly httpUrl: string
  /** The peer's close frames as the echo handler saw them, in order. */
  readonly closes: ReadonlyArray<{ readonly code: number; readonly reason: string }>
  readonly stop: () => Promise<void>
}

export interface ServerTarget {
  readonly start: (opts: ServerOptions) => Promise<ServerHandle>
}

export interface ClientOptions {
  readonly readLimit?: number
  readonly subprotocols?: ReadonlyArray<string>
  /** permessage-deflate; undefined: disabled. */
  readonly compression?: DeflateConfig
}

export interface ClientResult {
  /** The close status the client's API reported (1005 for an empty close); undefined if it never opened. */
  readonly closeCode: number | undefined
  readonly closeReason?: string
  /** Why the client failed (handshake refused, protocol error…). */
  readonly error?: string
  /** Whether the opening handshake succeeded. */
  readonly opened: boolean
  readonly subprotocol?: string
  /** The Sec-WebSocket-Extensions the client's API reports as negotiated. */
  readonly extensions?: string
}

export interface ClientTarget {
  /** Dials `url`, echoes every message with its type until the peer closes, answers the close. */
  readonly run: (url: string, opts: ClientOptions) => Promise<ClientResult>
  /**
   * The close status the client's API reports after failing the connection
   * itself, when that is not the code it sent (ws: 1006). Only what goes on
   * the wire is judged strictly; this is about the API's report.
   */
  readonly reportsOwnFailureAs?: number
}

export interface Target {
  readonly name: string
  /** Why the target cannot run here, or undefined when it can. */
  readonly unavailable: () => Promise<string | undefined>
  readonly server: ServerTarget
  readonly client: ClientTarget
  /** Case ids this target is known to fail strictly, with the reason. */
  readonly knownDeviations: Readonly<Record<Role, Readonly<Record<string, string>>>>
  /** Under vitest, run only every n-th case of each category (the suite stays within CI's time budget). */
  readonly sampleEvery?: number
}

// ---------------------------------------------------------------------------
// The shared HTTP harness

export const TEST_PAGE = "<!doctype html><meta charset=utf-8><title>effect-websocket interop</title><p>interop"

interface Harness {
  readonly url: string
  readonly httpUrl: string
  readonly stop: () => Promise<void>
}

/**
 * An HTTP server on 127.0.0.1: `GET /index.html` serves the test page, other
 * plain requests get 426 (what a WebSocket-only endpoint answers), and
 * upgrade requests go to `onUpgrade`.
 */
export const startHarness = async (
  onUpgrade: (request: http.IncomingMessage, socket: Duplex, head: Buffer) => void
): Promise<Harness> => {
  const sockets = new Set<net.Socket>()
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/index.html") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(TEST_PAGE)
      return
    }
    const body = "Upgrade Required\n"
    res.writeHead(426, { "Content-Type": "text/plain", "Content-Length": body.length, Upgrade: "websocket", Connection: "Upgrade" }).end(body)
  })
  server.on("connection", (s: net.Socket) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
  })
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => {})
    onUpgrade(req, socket, head)
  })
  server.on("clientError", (_err, socket: Duplex) => socket.destroy())
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/`,
    httpUrl: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}

/** The control path of a request, see the module comment. */
type Behaviour = { readonly kind: "echo" } | { readonly kind: "close"; readonly code: number; readonly reason: string } | { readonly kind: "ping" }

const behaviourOf = (url: string | undefined): Behaviour => {
  const u = new URL(url ?? "/", "http://x")
  if (u.pathname === "/close") {
    return { kind: "close", code: Number(u.searchParams.get("code") ?? "1000"), reason: u.searchParams.get("reason") ?? "" }
  }
  if (u.pathname === "/ping") return { kind: "ping" }
  return { kind: "echo" }
}

/** Server order of preference, compared case-sensitively (RFC 6455 §4.1: tokens are exact). */
const pickSubprotocol = (supported: ReadonlyArray<string>, offered: ReadonlySet<string>): string | undefined =>
  supported.find((p) => offered.has(p))

// ---------------------------------------------------------------------------
// ws

/**
 * ws's perMessageDeflate for a config: in both roles the no-context flags
 * ask for both sides. They stay unset otherwise: ws reads an explicit
 * `false` as "refuse the peer's request".
 */
const wsDeflate = (c: DeflateConfig | undefined): PerMessageDeflateOptions | false => {
  if (c === undefined) return false
  const o: PerMessageDeflateOptions = c.mode === "no-context-takeover" ? { serverNoContextTakeover: true, clientNoContextTakeover: true } : {}
  if (c.serverMaxWindowBits !== undefined) o.serverMaxWindowBits = c.serverMaxWindowBits
  if (c.clientMaxWindowBits !== undefined) o.clientMaxWindowBits = c.clientMaxWindowBits
  if (c.threshold !== undefined) o.threshold = c.threshold
  return o
}

const wsServer: ServerTarget = {
  start: async (opts) => {
    const closes: Array<{ code: number; reason: string }> = []
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.readLimit === undefined || opts.readLimit < 0 ? 0 : opts.readLimit,
      perMessageDeflate: wsDeflate(opts.compression),
      handleProtocols: (offered) => pickSubprotocol(opts.subprotocols ?? [], offered) ?? false
    })
    const harness = await startHarness((req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on("error", () => {})
        ws.on("close", (code, reason) => closes.push({ code, reason: reason.toString() }))
        const b = behaviourOf(req.url)
        if (b.kind === "close") return ws.close(b.code, b.reason)
        if (b.kind === "ping") {
          ws.on("pong", (data) => ws.send(`pong:${data.toString()}`))
          return ws.ping("server-ping")
        }
        // With ws's default binaryType ("nodebuffer") every message is one Buffer.
        ws.on("message", (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }))
      })
    })
    return {
      url: harness.url,
      httpUrl: harness.httpUrl,
      closes,
      stop: async () => {
        for (const ws of wss.clients) ws.terminate()
        wss.close()
        await harness.stop()
      }
    }
  }
}

const wsClient: ClientTarget = {
  // ws stops parsing after its own protocol error, so the peer's answering
  // close is never read and the 'close' event says 1006.
  reportsOwnFailureAs: 1006,
  run: (url, opts) =>
    new Promise((resolve) => {
      const ws = new WsClient(url, [...(opts.subprotocols ?? [])], {
        maxPayload: opts.readLimit === undefined || opts.readLimit < 0 ? 0 : opts.readLimit,
        perMessageDeflate: wsDeflate(opts.compression)
      })
      let opened = false
      let error: string | undefined
      ws.on("open", () => (opened = true))
      ws.on("message", (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }))
      ws.on("error", (e) => (error ??= e.message))
      ws.on("close", (code, reason) => {
        const r: ClientResult = {
          closeCode: opened ? code : undefined,
          closeReason: reason.toString(),
          opened,
          subprotocol: ws.protocol,
          extensions: ws.extensions
        }
        resolve(error === undefined ? r : { ...r, error })
      })
    })
}

const wsDeviations = (role: Role): Record<string, string> => {
  const failFast =
    "ws checks UTF-8 only once the whole message is in (RFC 6455 §8.1: fail as soon as the bytes are invalid), so the 1007 comes after the last part"
  const fragments = "ws caps a message at 16384 fragments (maxFragments, since 8.21) and closes with 1008; this message has 65536"
  const shared: Record<string, string> = {
    "6.4.1": failFast,
    "6.4.2": failFast,
    "6.4.3": failFast,
    "6.4.4": failFast,
    "9.3.1": fragments,
    "9.4.1": fragments,
    "9.20.4":
      "ws answers any 64-bit length above 2^53-1 with 1009, also one with the most significant bit set, which RFC 6455 §5.2 makes a protocol error (1002)"
  }
  const invalidOffer = "ws answers an invalid permessage-deflate offer with 400 instead of declining it (RFC 7692 §5: the server declines the offer)"
  const laterOffer =
    "ws answers 400 when any offer has an invalid or unknown parameter, instead of declining that offer and taking a later one (RFC 7692 §5)"
  const unchecked = (what: string) => `ws does not check ${what} in the response against its offer and connects`
  return role === "server"
    ? {
        "0.1.9": "ws also speaks Sec-WebSocket-Version 8 (hybi draft) and upgrades; strict here is 13 only (RFC 6455 §4.2.2)",
        "0.1.13": "ws answers a wrong Upgrade token with 400; our strict status is 426 as coder/websocket (RFC 6455 §4.2.1 allows either)",
        "0.1.15": "ws does not check the HTTP version and upgrades an HTTP/1.0 request (RFC 6455 §4.1 requires HTTP/1.1)",
        "13.20.1": laterOffer,
        "13.20.2": laterOffer,
        "13.20.4": laterOffer,
        "13.20.6":
          "ws (clientMaxWindowBits set) answers 400 to an offer without client_max_window_bits; declining, or accepting without the parameter, are the RFC 7692 §7.1.2.2 choices",
        ...Object.fromEntries([1, 2, 3, 5, 6, 7, 8, 9, 10].map((k) => [`13.21.${k}`, invalidOffer])),
        "13.21.4": "ws reads server_max_window_bits=010 as 10 and accepts the offer; RFC 7692 §7.1.2.1 allows no leading zero, so the offer must be declined",
        ...shared
      }
    : {
        "0.2.4":
          "ws refuses a 101 without Sec-WebSocket-Protocol when it offered some; RFC 6455 §4.1 refuses only a subprotocol that was not offered",
        "13.22.5": "ws takes the first of two permessage-deflate elements in a response and ignores the second (RFC 6455 §9.1: one per extension)",
        "13.22.6": unchecked("server_max_window_bits (RFC 7692 §7.1.2.1)"),
        "13.22.7": unchecked("the absence of the server_max_window_bits it asked for (RFC 7692 §7.1.2.1)"),
        "13.22.9": unchecked("the absence of the server_no_context_takeover it asked for (RFC 7692 §7.1.1.1)"),
        ...shared
      }
}

export const wsTarget: Target = {
  name: "ws",
  unavailable: () => Promise.resolve(undefined),
  server: wsServer,
  client: wsClient,
  // From a run of the suite: where ws 8.23 departs from the strict verdicts.
  knownDeviations: { server: wsDeviations("server"), client: wsDeviations("client") },
  // ws is the reference that keeps the verdicts honest, not the subject:
  // a quarter of each category by default, all with CONFORMANCE_WS=all.
  sampleEvery: process.env["CONFORMANCE_WS"] === "all" ? 1 : 4
}

// ---------------------------------------------------------------------------
// ours: the library, once per Codec layer (the same cases, not copies)

/** The library's `compression` option for a config. */
const oursCompression = (c: DeflateConfig | undefined): WebSocket.ConnOptions["compression"] =>
  c === undefined
    ? "disabled"
    : {
        mode: c.mode,
        ...(c.serverMaxWindowBits === undefined ? {} : { serverMaxWindowBits: c.serverMaxWindowBits }),
        ...(c.clientMaxWindowBits === undefined ? {} : { clientMaxWindowBits: c.clientMaxWindowBits }),
        ...(c.threshold === undefined ? {} : { threshold: c.threshold })
      }

/** Echo by streaming: each message's chunks go out as they arrive, as fragments. */
const echoLoop = (conn: Conn): Effect.Effect<never, CloseError | MessageTooBig> =>
  Effect.forever(
    Effect.flatMap(conn.reader, (r) =>
      Effect.scoped(
        Effect.flatMap(conn.writer(r.type), (w) =>
          Stream.runForEach(r.stream, (chunk) => w.write(chunk)).pipe(Effect.zipRight(w.close))
        )
      )
    )
  )

/** One Codec per target, built once and shared by its connections (as an application provides it). */
type CodecRuntime = ManagedRuntime.ManagedRuntime<Codec.Codec, never>

const oursServer = (runtime: CodecRuntime): ServerTarget => ({
  start: async (opts) => {
    const closes: Array<{ code: number; reason: string }> = []
    const fibers = new Set<Fiber.RuntimeFiber<void, never>>()
    const options: WebSocket.AcceptOptions = {
      readLimit: opts.readLimit ?? -1,
      subprotocols: opts.subprotocols ?? [],
      compression: oursCompression(opts.compression)
    }
    const serve = (conn: Conn, b: Behaviour): Effect.Effect<void, unknown> => {
      if (b.kind === "close") return conn.close(b.code, b.reason)
      if (b.kind === "ping") return Effect.zipRight(conn.ping, conn.write("text", "pong:server-ping"))
      return echoLoop(conn)
    }
    const harness = await startHarness((request, socket, head) => {
      const program = Effect.scoped(
        Effect.gen(function* () {
          const conn = yield* WebSocket.accept({ request, socket, head }, options)
          yield* Effect.exit(serve(conn, behaviourOf(request.url)))
          const closed = yield* conn.closed
          if (closed.received) closes.push({ code: closed.code, reason: closed.reason })
        })
      ).pipe(Effect.catchAllCause(() => Effect.void))
      const fiber = runtime.runFork(program)
      fibers.add(fiber)
      fiber.addObserver(() => fibers.delete(fiber))
    })
    return {
      url: harness.url,
      httpUrl: harness.httpUrl,
      closes,
      stop: async () => {
        await Effect.runPromise(Fiber.interruptAll(fibers))
        await harness.stop()
      }
    }
  }
})

const oursClient = (runtime: CodecRuntime): ClientTarget => ({
  run: async (url, opts) => {
    let opened = false
    const program = Effect.scoped(
      Effect.gen(function* () {
        const { conn } = yield* WebSocket.dial(url, {
          readLimit: opts.readLimit ?? -1,
          subprotocols: opts.subprotocols ?? [],
          compression: oursCompression(opts.compression)
        })
        opened = true
        yield* Effect.exit(echoLoop(conn))
        const closed = yield* conn.closed
        const r: ClientResult = {
          closeCode: closed.code,
          closeReason: closed.reason,
          opened,
          subprotocol: conn.subprotocol,
          extensions: conn.extensions
        }
        return r
      })
    )
    const exit = await runtime.runPromiseExit(program)
    return Exit.isSuccess(exit) ? exit.value : { closeCode: undefined, error: Cause.pretty(exit.cause), opened }
  }
})

const ours = (name: string, codec: Layer.Layer<Codec.Codec>): Target => {
  const runtime = ManagedRuntime.make(codec)
  return {
    name,
    unavailable: () => Promise.resolve(undefined),
    server: oursServer(runtime),
    client: oursClient(runtime),
    // no deliberate deviations from the strict verdicts
    knownDeviations: { server: {}, client: {} }
  }
}

export const oursTarget: Target = ours("ours", Codec.layerJs)
export const oursWasmTarget: Target = ours("ours-wasm", Codec.layerWasm)

export const allTargets: ReadonlyArray<Target> = [wsTarget, oursTarget, oursWasmTarget]

/** The targets named in `CONFORMANCE_TARGETS` (comma-separated), default all. */
export const selectedTargets = (): ReadonlyArray<Target> => {
  const names = (process.env["CONFORMANCE_TARGETS"] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
  return names.length === 0 ? allTargets : allTargets.filter((t) => names.includes(t.name))
}
