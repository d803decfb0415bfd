/**
 * Real Node clients nobody here wrote (`ws`, undici's WHATWG `WebSocket`)
 * against each server target: echo 0 B–1 MiB, subprotocol selection, close
 * codes and reasons both ways, pings both ways where the client can.
 */
import { WebSocket as UndiciWebSocket } from "undici"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { WebSocket as WsWebSocket } from "ws"
import { dialRaw } from "../conformance/peer.js"
import type { ServerHandle } from "../conformance/targets.js"
import {
  binaryPayload,
  closePath,
  INTEROP_READ_LIMIT,
  interopTargets,
  sameBytes,
  SIZES,
  startInteropServer,
  textPayload,
  waitUntil
} from "./matrix.js"

type Received = { readonly type: "text"; readonly data: string } | { readonly type: "binary"; readonly data: Uint8Array }

interface PeerConn {
  readonly protocol: string
  readonly send: (data: string | Uint8Array) => void
  readonly next: () => Promise<Received>
  readonly close: (code?: number, reason?: string) => void
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>
  /** Sends a ping and resolves with the pong's payload (clients that can). */
  readonly ping?: (payload: Uint8Array) => Promise<Uint8Array>
}

interface Peer {
  readonly name: string
  /** Resolves once open; rejects when the handshake fails. */
  readonly open: (url: string, protocols: ReadonlyArray<string>) => Promise<PeerConn>
}

/** A queue of received messages with waiting readers. */
const inbox = (): { push: (m: Received) => void; next: () => Promise<Received> } => {
  const items: Array<Received> = []
  const waiting: Array<(m: Received) => void> = []
  return {
    push: (m) => {
      const w = waiting.shift()
      if (w === undefined) items.push(m)
      else w(m)
    },
    next: () => {
      const m = items.shift()
      return m === undefined ? new Promise((resolve) => waiting.push(resolve)) : Promise.resolve(m)
    }
  }
}

const wsPeer: Peer = {
  name: "ws client",
  open: (url, protocols) =>
    new Promise((resolve, reject) => {
      const ws = new WsWebSocket(url, [...protocols], { perMessageDeflate: false, maxPayload: INTEROP_READ_LIMIT })
      const box = inbox()
      ws.on("message", (data, isBinary) => {
        const buf = data as Buffer
        box.push(isBinary ? { type: "binary", data: new Uint8Array(buf) } : { type: "text", data: buf.toString("utf8") })
      })
      const closed = new Promise<{ code: number; reason: string }>((r) => ws.on("close", (code, reason) => r({ code, reason: reason.toString() })))
      ws.on("error", reject)
      ws.once("open", () =>
        resolve({
          protocol: ws.protocol,
          send: (data) => ws.send(data, { binary: typeof data !== "string" }),
          next: box.next,
          close: (code, reason) => ws.close(code, reason),
          closed,
          ping: (payload) =>
            new Promise((r) => {
              ws.once("pong", (data) => r(new Uint8Array(data)))
              ws.ping(payload)
            })
        })
      )
    })
}

const undiciPeer: Peer = {
  name: "undici WebSocket",
  open: (url, protocols) =>
    new Promise((resolve, reject) => {
      const ws = new UndiciWebSocket(url, [...protocols])
      ws.binaryType = "arraybuffer"
      const box = inbox()
      ws.onmessage = (e) => {
        const data: unknown = e.data
        box.push(typeof data === "string" ? { type: "text", data } : { type: "binary", data: new Uint8Array(data as ArrayBuffer) })
      }
      const closed = new Promise<{ code: number; reason: string }>((r) => (ws.onclose = (e) => r({ code: e.code, reason: e.reason })))
      ws.onerror = () => reject(new Error("undici WebSocket failed to open"))
      ws.onopen = () =>
        resolve({
          protocol: ws.protocol,
          send: (data) => ws.send(data),
          next: box.next,
          close: (code, reason) => ws.close(code, reason),
          closed
        })
    })
}

const targets = await interopTargets()

describe.each([wsPeer, undiciPeer])("$name", (peer) => {
  for (const { target, unavailable } of targets) {
    describe(`against the ${target.name} server`, () => {
      if (unavailable !== undefined) {
        it.skip(`skipped: ${unavailable}`, () => {})
        return
      }
      let server: ServerHandle
      beforeAll(async () => {
        server = await startInteropServer(target)
      })
      afterAll(() => server.stop())

      it.each(SIZES)("echoes a text message of %i bytes", async (size) => {
        const conn = await peer.open(server.url, [])
        const sent = textPayload(size)
        conn.send(sent)
        const got = await conn.next()
        expect(got.type).toBe("text")
        expect(got.data === sent, `text echo of ${size} bytes differs`).toBe(true)
        conn.close(1000)
        expect((await conn.closed).code).toBe(1000)
      })

      it.each(SIZES)("echoes a binary message of %i bytes", async (size) => {
        const conn = await peer.open(server.url, [])
        const sent = binaryPayload(size)
        conn.send(sent)
        const got = await conn.next()
        expect(got.type).toBe("binary")
        expect(got.type === "binary" && sameBytes(got.data, sent), `binary echo of ${size} bytes differs`).toBe(true)
        conn.close(1000)
        expect((await conn.closed).code).toBe(1000)
      })

      it("gets the server's preferred subprotocol among those offered", async () => {
        const conn = await peer.open(server.url, ["chat.v1", "chat.v2"])
        expect(conn.protocol).toBe("chat.v2")
        conn.close(1000)
        await conn.closed
      })

      it("gets the one offered subprotocol the server supports", async () => {
        const conn = await peer.open(server.url, ["x-other", "chat.v1"])
        expect(conn.protocol).toBe("chat.v1")
        conn.close(1000)
        await conn.closed
      })

      it("with no subprotocol in common, the server selects none and the client refuses", async () => {
        // Both clients refuse a 101 without the subprotocol they asked for:
        // ws by choice, undici as the WHATWG spec says (RFC 6455 §4.1 alone would accept it).
        await expect(peer.open(server.url, ["x-unknown"])).rejects.toThrow()
        const raw = await dialRaw(server.url, { headers: { "Sec-WebSocket-Protocol": "x-unknown" } })
        raw.socket.destroy()
        expect(raw.response?.status).toBe(101)
        expect(raw.response?.headers["sec-websocket-protocol"]).toBeUndefined()
      })

      it("closes from the client with a code and reason, seen by the server and echoed", async () => {
        const conn = await peer.open(server.url, [])
        conn.close(4001, "client bye \u00e9")
        expect(await conn.closed).toEqual({ code: 4001, reason: "client bye \u00e9" })
        const seen = await waitUntil(() => server.closes.some((c) => c.code === 4001 && c.reason === "client bye \u00e9"), 2000)
        expect(seen, "server saw the client's close code and reason").toBe(true)
      })

      it("closes from the client without a code: 1005 on both sides", async () => {
        const conn = await peer.open(server.url, [])
        const before = server.closes.filter((c) => c.code === 1005).length
        conn.close()
        expect((await conn.closed).code).toBe(1005)
        expect(await waitUntil(() => server.closes.filter((c) => c.code === 1005).length > before, 2000)).toBe(true)
      })

      it("receives the server's close code and reason", async () => {
        const conn = await peer.open(closePath(server.url, 4002, "server bye \u20ac"), [])
        expect(await conn.closed).toEqual({ code: 4002, reason: "server bye \u20ac" })
      })

      it("receives the server's 1001 going away", async () => {
        const conn = await peer.open(closePath(server.url, 1001, ""), [])
        expect(await conn.closed).toEqual({ code: 1001, reason: "" })
      })

      it("answers the server's ping", async () => {
        const conn = await peer.open(`${server.url}ping`, [])
        expect(await conn.next()).toEqual({ type: "text", data: "pong:server-ping" })
        conn.close(1000)
        await conn.closed
      })

      it.runIf(peer.name === "ws client")("gets a pong for its ping, with the same payload", async () => {
        const conn = await peer.open(server.url, [])
        if (conn.ping === undefined) throw new Error("this client cannot ping")
        const payload = binaryPayload(125)
        expect(sameBytes(await conn.ping(payload), payload)).toBe(true)
        conn.close(1000)
        await conn.closed
      })
    })
  }
})
