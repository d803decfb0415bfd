/**
 * Headless Chromium's WebSocket against each server target, the page served
 * by the target's own HTTP server on 127.0.0.1. Browsers cannot send pings,
 * so only the server's ping is tested. Skips when /usr/bin/chromium is
 * missing, except in CI (CI=true), where a missing browser is a failure.
 */
import { existsSync } from "node:fs"
import type { Browser, Page } from "playwright-core"
import { chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { DeflateConfig, ServerHandle } from "../conformance/targets.js"
import { closePath, interopTargets, SIZES, startInteropServer, waitUntil } from "./matrix.js"

/** Overridable for machines that install it elsewhere. */
const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium"
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/** What the page does: send `sends` one at a time checking each echo, then close (or wait for the server to). */
interface Scenario {
  readonly url: string
  readonly protocols: ReadonlyArray<string>
  readonly sends: ReadonlyArray<{ readonly kind: "text" | "binary"; readonly size: number }>
  /** Messages to collect besides echoes before closing. */
  readonly collect: number
  /** Close with these after the sends; undefined: wait for the server's close. */
  readonly close: { readonly code?: number; readonly reason?: string } | undefined
}

interface Outcome {
  readonly opened: boolean
  readonly protocol: string
  /** `WebSocket.extensions`: what the browser agreed to. */
  readonly extensions: string
  /** One line per send: "text 125 ok", or what went wrong. */
  readonly echoes: ReadonlyArray<string>
  readonly collected: ReadonlyArray<string>
  readonly code: number
  readonly reason: string
  readonly wasClean: boolean
}

/**
 * Runs in the page. Self-contained: it cannot import, so the payload
 * builders repeat those of matrix.ts.
 */
const inPage = (s: Scenario): Promise<Outcome> =>
  new Promise((resolve) => {
    const text = (size: number): string => "a\u00e9\u20ac\u{1d11e}".repeat(Math.floor(size / 10)) + "a".repeat(size % 10)
    const binary = (size: number): Uint8Array<ArrayBuffer> => {
      const out = new Uint8Array(size)
      for (let i = 0; i < size; i++) out[i] = (i * 31 + 7) & 255
      return out
    }
    const echoes: Array<string> = []
    const collected: Array<string> = []
    let opened = false
    let i = 0
    const ws = new WebSocket(s.url, [...s.protocols])
    ws.binaryType = "arraybuffer"
    const sendNext = (): void => {
      const next = s.sends[i]
      if (next !== undefined) {
        ws.send(next.kind === "text" ? text(next.size) : binary(next.size))
      } else if (collected.length >= s.collect && s.close !== undefined) {
        ws.close(s.close.code, s.close.reason)
      }
    }
    ws.onopen = () => {
      opened = true
      sendNext()
    }
    ws.onmessage = (e: MessageEvent<unknown>) => {
      const want = s.sends[i]
      if (want === undefined) {
        collected.push(typeof e.data === "string" ? e.data : "(binary)")
        sendNext()
        return
      }
      let ok = false
      if (want.kind === "text" && typeof e.data === "string") ok = e.data === text(want.size)
      if (want.kind === "binary" && e.data instanceof ArrayBuffer) {
        const got = new Uint8Array(e.data)
        const exp = binary(want.size)
        ok = got.length === exp.length && got.every((b, k) => b === exp[k])
      }
      echoes.push(`${want.kind} ${want.size} ${ok ? "ok" : "differs"}`)
      i++
      sendNext()
    }
    let extensions = ""
    ws.addEventListener("open", () => (extensions = ws.extensions))
    ws.onclose = (e) =>
      resolve({ opened, protocol: ws.protocol, extensions, echoes, collected, code: e.code, reason: e.reason, wasClean: e.wasClean })
  })

const targets = await interopTargets()
const missing = !existsSync(CHROMIUM)

describe("headless Chromium", () => {
  if (missing) {
    if (process.env["CI"] === "true") {
      it("has Chromium installed (required in CI)", () => {
        throw new Error(`${CHROMIUM} is missing: .ci/run installs it with apt-get (apt-get install chromium)`)
      })
    } else {
      it.skip(`skipped: ${CHROMIUM} is missing (apt-get install chromium); CI=true makes this a failure`, () => {})
    }
    return
  }
  let browser: Browser
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  }, 60_000)
  afterAll(() => browser?.close())

  for (const { target, unavailable } of targets) {
    describe(`against the ${target.name} server`, () => {
      if (unavailable !== undefined) {
        it.skip(`skipped: ${unavailable}`, () => {})
        return
      }
      let server: ServerHandle
      let page: Page
      beforeAll(async () => {
        server = await startInteropServer(target)
        page = await browser.newPage()
        await page.goto(`${server.httpUrl}index.html`)
      }, 60_000)
      afterAll(async () => {
        await page?.close()
        await server?.stop()
      })
      const run = (s: Omit<Scenario, "url"> & { readonly path?: string }): Promise<Outcome> =>
        page.evaluate(inPage, { url: s.path ?? server.url, protocols: s.protocols, sends: s.sends, collect: s.collect, close: s.close })

      it(`echoes text and binary messages of ${SIZES.join(", ")} bytes`, async () => {
        const sends = SIZES.flatMap((size) => [
          { kind: "text" as const, size },
          { kind: "binary" as const, size }
        ])
        const out = await run({ protocols: [], sends, collect: 0, close: { code: 1000 } })
        expect(out.echoes).toEqual(sends.map((x) => `${x.kind} ${x.size} ok`))
        expect(out.code).toBe(1000)
        expect(out.wasClean).toBe(true)
      })

      it("gets the server's preferred subprotocol among those offered", async () => {
        const out = await run({ protocols: ["chat.v1", "chat.v2"], sends: [], collect: 0, close: { code: 1000 } })
        expect(out.protocol).toBe("chat.v2")
      })

      it("refuses a 101 without the subprotocol it asked for (WHATWG)", async () => {
        const out = await run({ protocols: ["x-unknown"], sends: [], collect: 0, close: { code: 1000 } })
        expect(out.opened).toBe(false)
        expect(out.code).toBe(1006)
      })

      it("closes with a code and reason, seen by the server and echoed", async () => {
        const out = await run({ protocols: [], sends: [], collect: 0, close: { code: 4001, reason: "browser bye \u00e9" } })
        expect([out.code, out.reason, out.wasClean]).toEqual([4001, "browser bye \u00e9", true])
        expect(await waitUntil(() => server.closes.some((c) => c.code === 4001 && c.reason === "browser bye \u00e9"), 2000)).toBe(true)
      })

      it("closes without a code: 1005 on both sides", async () => {
        const before = server.closes.filter((c) => c.code === 1005).length
        const out = await run({ protocols: [], sends: [], collect: 0, close: {} })
        expect(out.code).toBe(1005)
        expect(await waitUntil(() => server.closes.filter((c) => c.code === 1005).length > before, 2000)).toBe(true)
      })

      it("receives the server's close code and reason", async () => {
        const out = await run({ path: closePath(server.url, 4002, "server bye \u20ac"), protocols: [], sends: [], collect: 0, close: undefined })
        expect([out.code, out.reason, out.wasClean]).toEqual([4002, "server bye \u20ac", true])
      })

      it("answers the server's ping", async () => {
        const out = await run({ path: `${server.url}ping`, protocols: [], sends: [], collect: 1, close: { code: 1000 } })
        expect(out.collected).toEqual(["pong:server-ping"])
      })
    })
  }

  // permessage-deflate: Chromium offers "permessage-deflate; client_max_window_bits".
  // Every message is compressed (threshold 0); the payloads are compressible.
  // The default mode echoes both kinds; the others text only (time budget).
  const deflateModes: ReadonlyArray<readonly [string, DeflateConfig, string, ReadonlyArray<"text" | "binary">]> = [
    ["context takeover", { mode: "context-takeover", threshold: 0 }, "permessage-deflate", ["text", "binary"]],
    [
      "no context takeover",
      { mode: "no-context-takeover", threshold: 0 },
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
      ["text"]
    ],
    [
      "windows of 9 bits both ways",
      { mode: "context-takeover", serverMaxWindowBits: 9, clientMaxWindowBits: 9, threshold: 0 },
      "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
      ["text"]
    ]
  ]
  for (const { target, unavailable } of targets.filter((t) => t.target.name !== "ws")) {
    describe(`against the ${target.name} server with permessage-deflate`, () => {
      if (unavailable !== undefined) {
        it.skip(`skipped: ${unavailable}`, () => {})
        return
      }
      let page: Page
      beforeAll(async () => {
        page = await browser.newPage()
      })
      afterAll(() => page?.close())
      for (const [name, config, agreed, kinds] of deflateModes) {
        it(`${name}: agrees to "${agreed}" and echoes ${kinds.join(" and ")} messages of ${SIZES.join(", ")} bytes`, async () => {
          const server = await startInteropServer(target, config)
          try {
            await page.goto(`${server.httpUrl}index.html`)
            const sends = SIZES.flatMap((size) => kinds.map((kind) => ({ kind, size })))
            const out = await page.evaluate(inPage, { url: server.url, protocols: [], sends, collect: 0, close: { code: 1000 } })
            expect(out.extensions).toBe(agreed)
            expect(out.echoes).toEqual(sends.map((x) => `${x.kind} ${x.size} ok`))
            expect([out.code, out.wasClean]).toEqual([1000, true])
          } finally {
            await server.stop()
          }
        })
      }
    })
  }
})
