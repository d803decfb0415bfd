/**
 * A raw peer for tests: does the opening handshake by hand and speaks
 * hand-made frames, so tests can send what no library would.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { createHash, randomBytes } from "node:crypto"
import * as Net from "node:net"
import * as Frame from "../../src/Frame.js"
import { maskJs } from "../../src/internal/mask.js"

export interface RawFrame {
  readonly fin: boolean
  readonly rsv1: boolean
  readonly opcode: number
  readonly payload: Uint8Array
}

/** Builds one frame; masked with a random key when `mask` is set. */
export const frame = (
  opcode: number,
  payload: Uint8Array | string,
  options: { readonly fin?: boolean; readonly mask?: boolean; readonly rsv?: number } = {}
): Uint8Array => {
  const data = typeof payload === "string" ? new TextEncoder().encode(payload) : payload
  const mask = options.mask ?? true
  const key = randomBytes(4).readUInt32LE(0)
  const size = Frame.headerSize(data.length, mask)
  const out = new Uint8Array(size + data.length)
  Frame.encodeHeader(out, 0, options.fin ?? true, false, opcode, data.length, mask, key)
  out[0] |= (options.rsv ?? 0) << 4
  out.set(data, size)
  if (mask) maskJs(out, size, out.length, key, 0)
  return out
}

export const closePayload = (code: number, reason = ""): Uint8Array => {
  const r = new TextEncoder().encode(reason)
  const out = new Uint8Array(2 + r.length)
  out[0] = code >> 8
  out[1] = code & 0xff
  out.set(r, 2)
  return out
}

/** A connected raw peer: everything it receives is parsed into frames. */
export class RawPeer {
  readonly frames: Array<RawFrame> = []
  ended = false
  closed = false
  private buffer = Buffer.alloc(0)
  private readonly waiters: Array<() => void> = []

  constructor(readonly socket: Net.Socket, initial: Buffer) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk))
    socket.on("end", () => {
      this.ended = true
      this.wake()
    })
    socket.on("close", () => {
      this.closed = true
      this.wake()
    })
    socket.on("error", () => {})
    if (initial.length > 0) this.onData(initial)
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk])
    for (;;) {
      const r = Frame.decodeHeader(this.buffer)
      if (r._tag !== "Header" || this.buffer.length < r.size + r.header.length) break
      const payload = new Uint8Array(this.buffer.subarray(r.size, r.size + r.header.length))
      if (r.header.masked) maskJs(payload, 0, payload.length, r.header.maskKey, 0)
      this.frames.push({ fin: r.header.fin, rsv1: r.header.rsv1, opcode: r.header.opcode, payload })
      this.buffer = this.buffer.subarray(r.size + r.header.length)
    }
    this.wake()
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  send(...chunks: ReadonlyArray<Uint8Array>): void {
    for (const c of chunks) this.socket.write(c)
  }

  /** Waits (real time) until `predicate` holds. */
  until(predicate: () => boolean): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const check = () => {
        if (predicate()) resume(Effect.void)
        else this.waiters.push(check)
      }
      check()
    })
  }

  /** The close frame received, if any: [code, reason]. */
  get close(): readonly [number, string] | undefined {
    const f = this.frames.find((x) => x.opcode === Frame.Opcode.Close)
    if (f === undefined) return undefined
    if (f.payload.length < 2) return [1005, ""]
    return [(f.payload[0] << 8) | f.payload[1], new TextDecoder().decode(f.payload.subarray(2))]
  }

  readonly awaitClose: Effect.Effect<readonly [number, string]> = Effect.suspend(() =>
    this.until(() => this.close !== undefined || this.closed).pipe(
      Effect.map(() => this.close ?? [1006, ""])
    )
  )

  readonly awaitTcpClose: Effect.Effect<void> = Effect.suspend(() => this.until(() => this.ended || this.closed))
}

/** Calls `then` once with the HTTP head that arrives on `socket` (without its blank line) and the bytes after it. */
const readHead = (socket: Net.Socket, then: (head: string, rest: Buffer) => void): void => {
  let data = Buffer.alloc(0)
  const onData = (chunk: Buffer) => {
    data = Buffer.concat([data, chunk])
    const end = data.indexOf("\r\n\r\n")
    if (end < 0) return
    socket.off("data", onData)
    then(data.subarray(0, end).toString("latin1"), data.subarray(end + 4))
  }
  socket.on("data", onData)
}

const acceptOf = (key: string): string => createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64")

/** Sends a raw HTTP request and reads the response head (and what followed it). */
export const request = (
  port: number,
  text: string
): Effect.Effect<{ readonly status: number; readonly head: string; readonly rest: Buffer; readonly socket: Net.Socket }, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ status: number; head: string; rest: Buffer; socket: Net.Socket }, Error>((resume) => {
      const socket = Net.connect(port, "127.0.0.1")
      readHead(socket, (head, rest) => {
        socket.pause()
        resume(Effect.succeed({ status: Number(head.split(" ")[1]), head, rest, socket }))
      })
      socket.on("error", (error) => resume(Effect.fail(error)))
      socket.write(text)
    }),
    ({ socket }) => Effect.sync(() => socket.destroy())
  )

export const upgradeRequest = (headers: Record<string, string> = {}, key = randomBytes(16).toString("base64")): string => {
  const all: Record<string, string> = {
    Host: "127.0.0.1",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": key,
    "Sec-WebSocket-Version": "13",
    ...headers
  }
  return "GET / HTTP/1.1\r\n" +
    Object.entries(all).filter(([, v]) => v !== "").map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n"
}

/** A raw client connected to our server on `port`, past the handshake. */
export const connect = (port: number, headers: Record<string, string> = {}): Effect.Effect<RawPeer, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const key = randomBytes(16).toString("base64")
    const res = yield* request(port, upgradeRequest(headers, key))
    if (res.status !== 101) return yield* Effect.fail(new Error(`status ${res.status}`))
    if (!res.head.includes(acceptOf(key))) return yield* Effect.fail(new Error("bad accept"))
    const peer = new RawPeer(res.socket, res.rest)
    res.socket.resume()
    return peer
  })

/**
 * A raw server: answers the upgrade with 101 (or `respond`'s text) and
 * hands out each connection as a RawPeer.
 */
export const rawServer = (
  respond?: (key: string, head: string) => string
): Effect.Effect<{ readonly url: string; readonly port: number; readonly peers: Effect.Effect<RawPeer> }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const accepted: Array<RawPeer> = []
    const all: Array<RawPeer> = []
    const waiting: Array<(p: RawPeer) => void> = []
    const server = Net.createServer((socket) => {
      socket.on("error", () => {})
      readHead(socket, (head, rest) => {
        const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? ""
        socket.write(
          respond?.(key, head) ??
            `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptOf(key)}\r\n\r\n`
        )
        const peer = new RawPeer(socket, rest)
        all.push(peer)
        const w = waiting.shift()
        if (w) w(peer)
        else accepted.push(peer)
      })
    })
    const port = yield* Effect.acquireRelease(
      Effect.async<number>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as Net.AddressInfo).port)))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          for (const p of all) p.socket.destroy()
        })
    )
    const peers = Effect.async<RawPeer>((resume) => {
      const p = accepted.shift()
      if (p) resume(Effect.succeed(p))
      else waiting.push((peer) => resume(Effect.succeed(peer)))
    })
    return { url: `ws://127.0.0.1:${port}`, port, peers }
  })
