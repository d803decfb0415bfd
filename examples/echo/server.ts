/**
 * npm run echo:server -- [--host 127.0.0.1] [--port 8080] [--read-limit BYTES]
 *   [--compression disabled|context-takeover|no-context-takeover] [--codec js|wasm]
 *
 * Prints `listening ws://HOST:PORT` when ready; stops on SIGINT / SIGTERM,
 * closing every connection with 1001.
 */
import { NodeRuntime } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import { codecLayer, compressionMode, parseArgs, portOf, serve } from "./echo.js"

const { options } = parseArgs(process.argv.slice(2), ["host", "port", "read-limit", "compression", "codec"])
const host = options.get("host") ?? "127.0.0.1"
const readLimit = options.get("read-limit")

const main = Effect.gen(function*() {
  const server = yield* serve({
    host,
    port: Number(options.get("port") ?? 8080),
    readLimit: readLimit === undefined ? undefined : Number(readLimit),
    compression: compressionMode(options.get("compression"))
  })
  console.log(`listening ws://${host}:${portOf(server)}`)
  return yield* Effect.never
}).pipe(Effect.scoped, Effect.provide(codecLayer(options.get("codec"))))

NodeRuntime.runMain(main)
