/**
 * The README's quick starts are the files in examples/quickstart, and they run.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { spawnTs } from "./util/spawn.js"
import { waitFor } from "./util/wait.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const readme = readFileSync(`${root}README.md`, "utf8")

/** The first ```ts block after `heading`. */
const blockAfter = (heading: string): string => {
  const at = readme.indexOf(heading)
  expect(at).toBeGreaterThanOrEqual(0)
  const start = readme.indexOf("```ts\n", at) + "```ts\n".length
  return readme.slice(start, readme.indexOf("```", start))
}

describe("README", () => {
  it("shows the quick start files as they are", () => {
    expect(blockAfter("## Server quick start")).toBe(readFileSync(`${root}examples/quickstart/server.ts`, "utf8"))
    expect(blockAfter("## Client quick start")).toBe(readFileSync(`${root}examples/quickstart/client.ts`, "utf8"))
  })

  it.live("the quick start client talks to the quick start server", () =>
    Effect.gen(function*() {
      const server = yield* spawnTs("examples/quickstart/server.ts")
      yield* waitFor(() => server.output.stdout.includes("listening") || server.child.exitCode !== null)
      expect(server.output.stdout).toContain("listening")
      const client = yield* spawnTs("examples/quickstart/client.ts")
      expect(yield* client.exited).toBe(0)
      expect(client.output.stdout).toContain("got text message: hello")
      expect(client.output.stdout).toContain("ping took")
    }).pipe(Effect.scoped), 120_000)
})
