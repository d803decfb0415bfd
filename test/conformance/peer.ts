/**
 * The raw-socket test peer: plain `node:net`, its own HTTP/1.1 handshake in
 * either role, hand-made frames in any split, and a timed log of everything
 * the target sends (frames, FIN, RST).
 */
import * as net from "node:net"
import { performance } from "node:perf_hooks"
import { acceptKey, concat, encodeFrame, FrameReader, newKey } from "./wire.js"
import type { FrameSpec, ReceivedFrame } from "./wire.js"

export type PeerEvent =
  | { readonly kind: "frame"; readonly t: number; readonly step: number; readonly frame: ReceivedFrame }
  /** The target half-closed the TCP connection (FIN). */
  | { readonly kind: "fin"; readonly t: number; readonly step: number }
  /** The connection was reset or failed (RST, EPIPE…). */
  | { readonly kind: "reset"; readonly t: number; readonly step: number; readonly code: string }

/** How a step's bytes are split into TCP writes. */
export type Chop = "all" | "frame" | number

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * One established connection, after the handshake. `masks` is the peer's
 * role rule: true when the peer plays the client.
 */
export class RawConn {
  readonly events: Array<PeerEvent> = []
  /** Index of the case step being executed; stamped on every event. */
  step = -1
  readonly t0 = performance.now()
  private waiters = new Set<() => void>()
  private readonly reader: FrameReader
  private gone = false

  constructor(
    readonly socket: net.Socket,
    readonly masks: boolean,
    leftover: Uint8Array
  ) {
    socket.setNoDelay(true)
    this.reader = new FrameReader((frame) => this.record({ kind: "frame", t: this.now(), step: this.step, frame }))
    socket.on("data", (chunk: Buffer) => this.reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)))
    socket.on("end", () => this.record({ kind: "fin", t: this.now(), step: this.step }))
    socket.on("error", (err: NodeJS.ErrnoException) =>
      this.record({ kind: "reset", t: this.now(), step: this.step, code: err.code ?? err.message })
    )
    socket.on("close", () => {
      this.gone = true
      this.wake()
    })
    if (leftover.length > 0) this.reader.push(leftover)
  }

  now(): number {
    return performance.now() - this.t0
  }

  /** The parser's complaint about the target's bytes, if any. */
  get parseError(): string | undefined {
    return this.reader.error
  }

  get frames(): Array<ReceivedFrame> {
    const out: Array<ReceivedFrame> = []
    for (const e of this.events) if (e.kind === "frame") out.push(e.frame)
    return out
  }

  /** Whether the socket can no longer carry anything in either direction. */
  get closed(): boolean {
    return this.gone
  }

  /** Messages completed (final data frames), pings and pongs received so far. */
  completed = 0
  /** Whether a close frame has arrived. */
  closeSeen = false
  /** Whether the target ended the TCP connection (FIN, RST or full close). */
  get tcpEnded(): boolean {
    return this.gone || this.ended
  }
  private ended = false

  private record(e: PeerEvent): void {
    if (e.kind === "frame") {
      const op = e.frame.opcode
      if (op === 0x8) this.closeSeen = true
      else if (op === 0x9 || op === 0xa || (op <= 0x2 && e.frame.fin)) this.completed++
    } else {
      this.ended = true
    }
    this.events.push(e)
    this.wake()
  }

  private wake(): void {
    for (const w of this.waiters) w()
  }

  /** Resolves true as soon as `pred` holds, false after `timeoutMs`. */
  waitFor(pred: () => boolean, timeoutMs: number): Promise<boolean> {
    if (pred()) return Promise.resolve(true)
    return new Promise((resolve) => {
      const check = (): void => {
        if (pred()) done(true)
      }
      const timer = setTimeout(() => done(false), timeoutMs)
      const done = (ok: boolean): void => {
        clearTimeout(timer)
        this.waiters.delete(check)
        resolve(ok)
      }
      this.waiters.add(check)
    })
  }

  /** Writes `data` in chunks of `chop` bytes, letting the target read between writes. */
  async write(data: Uint8Array, chop?: number): Promise<void> {
    if (chop === undefined || chop >= data.length) return this.writeOne(data)
    const pieces = Math.ceil(data.length / chop)
    // One event-loop turn per write makes each write its own read on the
    // target; for very many pieces, turn every 64 writes to stay fast.
    const every = pieces <= 4096 ? 1 : 64
    for (let i = 0, n = 0; i < data.length; i += chop, n++) {
      await this.writeOne(data.subarray(i, i + chop))
      if (n % every === 0) await turn()
    }
  }

  async sendFrames(frames: ReadonlyArray<FrameSpec>, chop: Chop = "all"): Promise<void> {
    const encoded = frames.map((f) => encodeFrame(f, this.masks))
    if (chop === "frame") {
      for (const e of encoded) {
        await this.writeOne(e)
        await turn()
      }
      return
    }
    await this.write(concat(encoded), chop === "all" ? undefined : chop)
  }

  private writeOne(data: Uint8Array): Promise<void> {
    if (this.gone || this.socket.writableEnded || this.socket.destroyed) return Promise.resolve()
    return new Promise((resolve) => {
      // Errors surface through the 'error' event; a write never rejects.
      const ok = this.socket.write(data, () => resolve())
      if (ok) resolve()
    })
  }

  /** Sends our FIN (half-close). */
  end(): void {
    if (!this.socket.writableEnded && !this.socket.destroyed) this.socket.end()
  }

  destroy(): void {
    this.socket.destroy()
  }
}

/** A parsed HTTP/1.1 head (request or response). */
export interface HttpHead {
  /** Request: method; response: "". */
  readonly method: string
  /** Request: target path; response: "". */
  readonly path: string
  /** e.g. "HTTP/1.1". */
  readonly version: string
  /** Response status, 0 for requests. */
  readonly status: number
  /** Lower-cased names; repeated fields joined with ", ". */
  readonly headers: Readonly<Record<string, string>>
  /** The raw header lines, in order, for checks on repetition. */
  readonly lines: ReadonlyArray<readonly [string, string]>
}

const parseHead = (text: string, isRequest: boolean): HttpHead => {
  const [start = "", ...rest] = text.split("\r\n")
  const parts = start.split(" ")
  const headers: Record<string, string> = {}
  const lines: Array<readonly [string, string]> = []
  for (const line of rest) {
    if (line === "") continue
    const i = line.indexOf(":")
    if (i < 0) continue
    const name = line.slice(0, i).trim().toLowerCase()
    const value = line.slice(i + 1).trim()
    lines.push([name, value])
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  return isRequest
    ? { method: parts[0] ?? "", path: parts[1] ?? "", version: parts[2] ?? "", status: 0, headers, lines }
    : { method: "", path: "", version: parts[0] ?? "", status: Number(parts[1]), headers, lines }
}

/** Reads from `socket` up to the end of an HTTP head; resolves with the head and the bytes after it. */
const readHead = (
  socket: net.Socket,
  isRequest: boolean,
  timeoutMs: number
): Promise<{ head: HttpHead; rest: Uint8Array } | undefined> =>
  new Promise((resolve) => {
    let buf = Buffer.alloc(0)
    const finish = (v: { head: HttpHead; rest: Uint8Array } | undefined): void => {
      clearTimeout(timer)
      socket.off("data", onData)
      socket.off("end", onEnd)
      socket.off("close", onEnd)
      socket.off("error", onEnd)
      resolve(v)
    }
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk])
      const i = buf.indexOf("\r\n\r\n")
      if (i < 0) return
      // Stop the flow until a RawConn takes over, so no frame byte is lost.
      socket.pause()
      finish({ head: parseHead(buf.subarray(0, i).toString("latin1"), isRequest), rest: Uint8Array.from(buf.subarray(i + 4)) })
    }
    const onEnd = (): void => finish(undefined)
    const timer = setTimeout(() => finish(undefined), timeoutMs)
    socket.on("data", onData)
    socket.on("end", onEnd)
    socket.on("close", onEnd)
    socket.on("error", onEnd)
  })

/** What to change in the client's opening handshake. `null` removes a header. */
export interface RequestShape {
  readonly method?: string
  readonly version?: string
  readonly path?: string
  readonly headers?: Readonly<Record<string, string | null>>
  /** Extra raw header lines, appended as they are (e.g. a duplicate key). */
  readonly extraLines?: ReadonlyArray<string>
}

export interface ClientHandshake {
  readonly response: HttpHead | undefined
  /** The response body bytes that arrived with the head (non-101 only). */
  readonly key: string
  readonly conn: RawConn | undefined
  readonly socket: net.Socket
}

/**
 * Connects to `url` and performs the opening handshake as a client.
 * On a 101 the connection is handed to a `RawConn` (masking on); otherwise
 * `conn` is undefined and the socket is left open for the caller to close.
 */
export const dialRaw = async (url: string, shape: RequestShape = {}, timeoutMs = 5000): Promise<ClientHandshake> => {
  const u = new URL(url)
  const socket = net.connect({ host: u.hostname, port: Number(u.port), allowHalfOpen: true })
  socket.on("error", () => {}) // recorded by RawConn or surfaced as a missing response
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve)
    socket.once("error", reject)
  })
  const key = newKey()
  const base: Record<string, string | null> = {
    Host: u.host,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": key,
    "Sec-WebSocket-Version": "13"
  }
  const headers = { ...base, ...shape.headers }
  const lines = [`${shape.method ?? "GET"} ${shape.path ?? (u.pathname + u.search || "/")} ${shape.version ?? "HTTP/1.1"}`]
  for (const [name, value] of Object.entries(headers)) if (value !== null) lines.push(`${name}: ${value}`)
  for (const line of shape.extraLines ?? []) lines.push(line)
  socket.write(lines.join("\r\n") + "\r\n\r\n")
  const got = await readHead(socket, false, timeoutMs)
  if (got === undefined) return { response: undefined, key, conn: undefined, socket }
  if (got.head.status !== 101) return { response: got.head, key, conn: undefined, socket }
  const conn = new RawConn(socket, true, got.rest)
  socket.resume()
  return { response: got.head, key, conn, socket }
}

/** The raw server's view of one accepted connection, before it answers. */
export interface IncomingHandshake {
  readonly request: HttpHead
  readonly socket: net.Socket
  /** Bytes after the request head (a client must not send any before the 101). */
  readonly early: Uint8Array
  /**
   * Sends `head` (a complete HTTP response head, CRLFs included) and returns
   * the connection as a `RawConn` (masking off), to watch what the client
   * does next, whatever the status.
   */
  readonly respond: (head: string, body?: Uint8Array) => RawConn
}

/** The standard 101 for `request`, optionally with extra header lines. */
export const switchingProtocols = (request: HttpHead, extra: ReadonlyArray<string> = []): string =>
  [
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Accept: ${acceptKey(request.headers["sec-websocket-key"] ?? "")}`,
    ...extra
  ].join("\r\n") + "\r\n\r\n"

/**
 * A raw server on 127.0.0.1 (the peer playing the server). Each accepted
 * connection's request is parsed and handed to `onHandshake`.
 */
export const listenRaw = async (
  onHandshake: (h: IncomingHandshake) => void
): Promise<{ url: string; close: () => Promise<void> }> => {
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => {})
    void readHead(socket, true, 5000).then((got) => {
      if (got === undefined) return socket.destroy()
      onHandshake({
        request: got.head,
        socket,
        early: got.rest,
        respond: (head, body) => {
          socket.write(head)
          if (body !== undefined) socket.write(body)
          const conn = new RawConn(socket, false, got.rest)
          socket.resume()
          return conn
        }
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address() as net.AddressInfo
  return {
    url: `ws://127.0.0.1:${address.port}/`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}
