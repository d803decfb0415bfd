/**
 * Runs in headless Chromium (bundled by test/browser.test.ts): scenarios for
 * the browser client, each returning what it saw.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Browser from "../../src/Browser.js"

const bytes = (n: number): Uint8Array => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 13 + 5) & 255
  return out
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

const scenarios: Record<"echo" | "serverCloses" | "readLimit", (url: string) => Effect.Effect<Array<string>, unknown, Scope.Scope>> = {
  echo: (url: string) =>
    Effect.gen(function*() {
      const { conn, response } = yield* Browser.dial(url, { subprotocols: ["other", "chat"], readLimit: 1 << 20 })
      const seen: Array<string> = [`status ${response.status}`, `protocol ${conn.subprotocol}`]
      for (const n of [0, 1, 125, 126, 70_000]) {
        yield* conn.write("binary", bytes(n))
        const m = yield* conn.read
        seen.push(`binary ${n} ${m.type} ${same(m.data, bytes(n))}`)
        const text = "é€𝄞".repeat(n >> 3)
        yield* conn.write("text", text)
        const t = yield* conn.read
        seen.push(`text ${n} ${t.type} ${t.text === text}`)
      }
      yield* conn.withWriter("text", (w) => Effect.zipRight(w.write("frag"), w.write("ments")))
      const { pull, type } = yield* conn.reader
      const chunks = yield* pull
      seen.push(`reader ${type} ${new TextDecoder().decode(chunks.pipe((c) => [...c][0] ?? new Uint8Array()))}`)
      yield* conn.close(1000, "page done")
      const closed = yield* conn.closed
      seen.push(`closed ${closed.code} ${closed.reason}`)
      return seen
    }),
  serverCloses: (url: string) =>
    Effect.gen(function*() {
      const { conn } = yield* Browser.dial(url)
      const got = yield* Stream.runCollect(conn.messages).pipe(Effect.either)
      const error = yield* Effect.flip(conn.read)
      return [JSON.stringify(got._tag), `${error._tag} ${error._tag === "CloseError" ? `${error.code} ${error.reason} ${error.received}` : ""}`]
    }),
  readLimit: (url: string) =>
    Effect.gen(function*() {
      const { conn } = yield* Browser.dial(url)
      yield* conn.setReadLimit(100)
      yield* conn.write("text", "send big")
      const error = yield* Effect.flip(conn.read)
      const closed = yield* conn.closed
      return [error._tag, `${closed.code}`]
    })
}

declare global {
  interface Window {
    run: (name: keyof typeof scenarios, url: string) => Promise<ReadonlyArray<string>>
  }
}

window.run = (name, url) =>
  Effect.runPromise(scenarios[name](url).pipe(Effect.scoped, Effect.catchAll((e) => Effect.succeed([`failed: ${String(e)}`]))))
