/**
 * A plain net.Socket echo server: the TCP ceiling for the echo rows.
 *
 *   node --import tsx test/bench/servers/tcp-echo.ts --host 127.0.0.1 --port P [--pipe]
 *
 * `--pipe` echoes with socket.pipe(socket) instead of 'data' → write.
 */
import * as net from "node:net"
import { exitWithParent, numberFlag, parseArgs } from "../child.js"

exitWithParent()
// a clean exit on SIGINT lets `node --cpu-prof` write its profile (test/bench/profile.ts)
process.on("SIGINT", () => process.exit(0))
const { flags } = parseArgs(process.argv.slice(2))
const host = flags.get("host") ?? "127.0.0.1"
const port = numberFlag(flags, "port", 8080)
const pipe = flags.has("pipe")

const server = net.createServer((socket) => {
  socket.setNoDelay(true)
  socket.on("error", () => {})
  if (pipe) socket.pipe(socket)
  else socket.on("data", (d) => socket.write(d))
})
server.on("error", (e) => {
  process.stderr.write(`tcp-echo: ${e.message}\n`)
  process.exit(1)
})
server.listen(port, host, () => {
  const a = server.address()
  const p = a !== null && typeof a === "object" ? a.port : port
  process.stdout.write(`listening tcp://${host}:${p}\n`)
})
