/**
 * The browser client (src/Browser.ts) in headless Chromium against our
 * server: the page is bundled with esbuild and served by the test server.
 * Skips when /usr/bin/chromium is missing, except in CI (CI=true).
 */
import { describe, expect, it } from "@effect/vitest"
import * as esbuild from "esbuild"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import { existsSync } from "node:fs"
import * as Http from "node:http"
import { fileURLToPath } from "node:url"
import { chromium } from "playwright-core"
import { Codec, WebSocket } from "../src/index.js"
import { echo } from "../examples/echo/echo.js"
import { listen } from "./util/server.js"
import { waitFor } from "./util/wait.js"

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium"
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

const bundle = () =>
  esbuild.build({
    entryPoints: [fileURLToPath(new URL("./browser/page.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false
  }).then((r) => r.outputFiles[0].text)

/** Serves the page and, on upgrades, our server: echo, or a behaviour named by the path. */
const server = (closes: Array<[number, string]>) =>
  Effect.gen(function*() {
    const script = yield* Effect.promise(bundle)
    const run = yield* FiberSet.makeRuntime<Codec.Codec>()
    const http = Http.createServer((req, res) => {
      if (req.url === "/page.js") {
        res.writeHead(200, { "Content-Type": "text/javascript" }).end(script)
      } else {
        res.writeHead(200, { "Content-Type": "text/html" }).end(`<!doctype html><script type="module" src="/page.js"></script>`)
      }
    })
    http.on("upgrade", (request: Http.IncomingMessage, socket, head: Buffer) => {
      const behaviour = request.url ?? "/"
      run(
        WebSocket.accept({ request, socket, head }, { subprotocols: ["chat"], readLimit: 1 << 20 }).pipe(
          Effect.flatMap((conn) =>
            Effect.gen(function*() {
              if (behaviour === "/close") {
                yield* conn.write("text", "before the close")
                yield* conn.close(4001, "server bye")
              } else if (behaviour === "/big") {
                yield* conn.read
                yield* conn.write("binary", new Uint8Array(200))
              } else {
                yield* echo(conn)
              }
              const closed = yield* conn.closed
              closes.push([closed.code, closed.reason])
            })
          ),
          Effect.scoped,
          Effect.ignore
        )
      )
    })
    const port = yield* listen(http)
    return port
  }).pipe(Effect.provide(Codec.layerJs))

describe("the browser client in headless Chromium", () => {
  if (!existsSync(CHROMIUM)) {
    if (process.env["CI"] === "true") {
      it("has Chromium installed (required in CI)", () => {
        throw new Error(`${CHROMIUM} is missing: .ci/run installs it with apt-get`)
      })
    } else {
      it.skip(`skipped: ${CHROMIUM} is missing (apt-get install chromium); CI=true makes this a failure`, () => {})
    }
    return
  }

  it.scopedLive("echo, subprotocol, writer, reader and close against our server", () =>
    Effect.gen(function*() {
      const closes: Array<[number, string]> = []
      const port = yield* server(closes)
      const browser = yield* Effect.acquireRelease(
        Effect.promise(() => chromium.launch({ executablePath: CHROMIUM, args: ARGS })),
        (b) => Effect.promise(() => b.close())
      )
      const page = yield* Effect.promise(() => browser.newPage())
      yield* Effect.promise(() => page.goto(`http://127.0.0.1:${port}/`))
      yield* Effect.promise(() => page.waitForFunction(() => typeof window.run === "function"))
      const base = `ws://127.0.0.1:${port}`

      const echoed = yield* Effect.promise(() => page.evaluate((url) => window.run("echo", url), `${base}/`))
      expect(echoed).toEqual([
        "status 101",
        "protocol chat",
        ...[0, 1, 125, 126, 70_000].flatMap((n) => [`binary ${n} binary true`, `text ${n} text true`]),
        "reader text fragments",
        "closed 1000 page done"
      ])
      yield* waitFor(() => closes.some(([code, reason]) => code === 1000 && reason === "page done"))

      const closed = yield* Effect.promise(() => page.evaluate((url) => window.run("serverCloses", url), `${base}/close`))
      expect(closed).toEqual([`"Left"`, "CloseError 4001 server bye true"])

      const limited = yield* Effect.promise(() => page.evaluate((url) => window.run("readLimit", url), `${base}/big`))
      // the page sees why it closed; the wire carried 1000, the only such code a browser may send
      expect(limited).toEqual(["MessageTooBig", "1009"])
      yield* waitFor(() => closes.some(([, reason]) => reason === "MessageTooBig: read limited at 101 bytes"))
    }), 120_000)
})
