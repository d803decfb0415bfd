/**
 * npm run echo:client -- URL [URL ...] [--compression MODE] [--codec js|wasm]
 *
 * Connects to each URL in turn and echoes every message until the peer
 * closes, printing `URL closed CODE` (or `URL failed REASON` when the
 * handshake fails). Exits 0 when every handshake succeeded, else 1.
 */
import { NodeRuntime } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import { codecLayer, compressionMode, echoClient, parseArgs } from "./echo.js"

const { options, positional } = parseArgs(process.argv.slice(2), ["compression", "codec", "read-limit"])

const main = Effect.gen(function*() {
  if (positional.length === 0) {
    console.error("usage: echo:client URL [URL ...] [--compression MODE]")
    return yield* Effect.fail(new Error("no URL"))
  }
  const readLimit = options.get("read-limit")
  let failed = false
  for (const url of positional) {
    const result = yield* echoClient(url, {
      readLimit: readLimit === undefined ? undefined : Number(readLimit),
      compression: compressionMode(options.get("compression"))
    })
    if (result._tag === "Closed") {
      console.log(`${url} closed ${result.code}`)
    } else {
      failed = true
      console.log(`${url} failed ${result.reason}`)
    }
  }
  if (failed) process.exitCode = 1
}).pipe(Effect.provide(codecLayer(options.get("codec"))))

NodeRuntime.runMain(main)
