/**
 * Each client target (an echo client) against a real `ws` server that drives
 * the matrix: the server sends text and binary messages of 0 B–1 MiB and
 * checks the echoes, selects a subprotocol, pings, and closes with a code
 * and reason. (The echo client never closes first, so client-initiated
 * closes are covered by the conformance suite's client role instead.)
 */
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { WebSocket } from "ws"
import { WebSocketServer } from "ws"
import { binaryPayload, INTEROP_READ_LIMIT, interopTargets, sameBytes, SERVER_SUBPROTOCOLS, SIZES, textPayload } from "./matrix.js"

/** What the server observed on one connection. */
interface Seen {
  readonly path: string
  readonly protocol: string
  readonly log: Array<string>
}

/** The next message on `ws`, with its type. */
const nextMessage = (ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> =>
  new Promise((resolve) => ws.once("message", (data, isBinary) => resolve({ data: data as Buffer, isBinary })))

/**
 * A ws server whose behaviour depends on the path:
 * `/echo-matrix` sends every size as text then binary and checks each echo;
 * `/ping` pings and logs the pong; `/close` closes with 4002 at once;
 * anything else closes with 1000.
 */
const startDriver = async (): Promise<{ url: string; seen: Array<Seen>; stop: () => Promise<void> }> => {
  const seen: Array<Seen> = []
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    perMessageDeflate: false,
    maxPayload: INTEROP_READ_LIMIT,
    handleProtocols: (offered) => SERVER_SUBPROTOCOLS.find((p) => offered.has(p)) ?? false
  })
  await new Promise<void>((resolve) => wss.once("listening", resolve))
  wss.on("connection", (ws, req) => {
    ws.on("error", () => {})
    const s: Seen = { path: req.url ?? "", protocol: ws.protocol, log: [] }
    seen.push(s)
    void (async () => {
      if (s.path === "/echo-matrix") {
        for (const size of SIZES) {
          for (const kind of ["text", "binary"] as const) {
            const sent = kind === "text" ? Buffer.from(textPayload(size)) : Buffer.from(binaryPayload(size))
            const echoed = nextMessage(ws)
            ws.send(sent, { binary: kind === "binary" })
            const got = await echoed
            const ok = got.isBinary === (kind === "binary") && sameBytes(got.data, sent)
            s.log.push(`${kind} ${size} ${ok ? "ok" : "differs"}`)
          }
        }
        ws.close(1000, "matrix done")
      } else if (s.path === "/ping") {
        ws.once("pong", (data) => {
          s.log.push(`pong ${data.toString()}`)
          ws.close(1000)
        })
        ws.ping("client-ping")
      } else if (s.path === "/close") {
        ws.close(4002, "server bye \u20ac")
      } else {
        ws.close(1000)
      }
    })()
  })
  const { port } = wss.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}`,
    seen,
    stop: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate()
        wss.close(() => resolve())
      })
  }
}

const targets = await interopTargets()

describe.each(targets)("client target $target.name against a ws server", ({ target, unavailable }) => {
  if (unavailable !== undefined) {
    it.skip(`skipped: ${unavailable}`, () => {})
    return
  }
  let driver: Awaited<ReturnType<typeof startDriver>>
  beforeAll(async () => {
    driver = await startDriver()
  })
  afterAll(() => driver.stop())
  const opts = { readLimit: INTEROP_READ_LIMIT }

  it(`echoes text and binary messages of ${SIZES.join(", ")} bytes, then takes the server's close`, async () => {
    const result = await target.client.run(`${driver.url}/echo-matrix`, opts)
    const s = driver.seen.find((x) => x.path === "/echo-matrix")
    expect(s?.log).toEqual(SIZES.flatMap((size) => [`text ${size} ok`, `binary ${size} ok`]))
    expect([result.closeCode, result.closeReason]).toEqual([1000, "matrix done"])
  })

  it("gets the server's preferred subprotocol among those offered", async () => {
    const result = await target.client.run(`${driver.url}/sub`, { ...opts, subprotocols: ["chat.v1", "chat.v2"] })
    expect(result.subprotocol).toBe("chat.v2")
    expect(driver.seen.find((x) => x.path === "/sub")?.protocol).toBe("chat.v2")
  })

  it("answers the server's ping", async () => {
    const result = await target.client.run(`${driver.url}/ping`, opts)
    expect(driver.seen.find((x) => x.path === "/ping")?.log).toEqual(["pong client-ping"])
    expect(result.closeCode).toBe(1000)
  })

  it("reports the server's close code and reason", async () => {
    const result = await target.client.run(`${driver.url}/close`, opts)
    expect([result.closeCode, result.closeReason]).toEqual([4002, "server bye \u20ac"])
  })
})
