/**
 * The ws echo server under test, with the same command line as our
 * examples/echo/server.ts:
 *
 *   node --import tsx test/bench/servers/ws-echo.ts --host 127.0.0.1 --port P
 *        [--read-limit BYTES] [--compression disabled|context-takeover|no-context-takeover]
 *
 * WS_NO_BUFFER_UTIL=1 in the environment selects ws's pure-JS masking.
 * Prints `listening ws://HOST:PORT` when ready; echoes every message with the
 * same type; ws itself answers a close with the same code.
 */
import { WebSocketServer } from "ws"
import type { PerMessageDeflateOptions } from "ws"
import { exitWithParent, numberFlag, parseArgs } from "../child.js"

exitWithParent()
// a clean exit on SIGINT lets `node --cpu-prof` write its profile (test/bench/profile.ts)
process.on("SIGINT", () => process.exit(0))
const { flags } = parseArgs(process.argv.slice(2))
const host = flags.get("host") ?? "127.0.0.1"
const port = numberFlag(flags, "port", 8080)
const compression = flags.get("compression") ?? "disabled"
const deflate: PerMessageDeflateOptions | false = compression === "disabled"
  ? false
  : compression === "context-takeover"
  ? {}
  : compression === "no-context-takeover"
  ? { serverNoContextTakeover: true }
  : (() => {
    throw new Error(`unknown --compression ${compression}`)
  })()

const wss = new WebSocketServer({
  host,
  port,
  // ws's default is 100 MiB; honour --read-limit like our server does.
  maxPayload: numberFlag(flags, "read-limit", 100 * 1024 * 1024),
  perMessageDeflate: deflate
})
wss.on("connection", (ws) => {
  ws.on("error", () => {})
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }))
})
wss.on("listening", () => {
  const a = wss.address()
  const p = a !== null && typeof a === "object" ? a.port : port
  process.stdout.write(`listening ws://${host}:${p}\n`)
})
wss.on("error", (e) => {
  process.stderr.write(`ws-echo: ${e.message}\n`)
  process.exit(1)
})
