/**
 * Our echo server (and the client bench) as the benchmark runs them:
 * examples/echo/server.ts bundled with the library into one plain JavaScript
 * file (dependencies stay imports from node_modules), run by `node` without a
 * TypeScript loader.
 * That is how an application runs the library (compiled), and it leaves out
 * the loader's per-function `__name` calls (tsx transpiles with keepNames),
 * which would bill every closure the library creates.
 */
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

/** Where the bundled server lands (git-ignored). */
export const OURS_BUILT = "test/bench/.build/ours-server.mjs"

interface Esbuild {
  readonly buildSync: (options: Record<string, unknown>) => { readonly errors: ReadonlyArray<unknown> }
}

/** The client bench (clients.ts), bundled the same way. */
export const CLIENTS_BUILT = "test/bench/.build/clients.mjs"

/** Bundles our echo server with esbuild (tsx's own dependency); throws on failure. */
export const buildOurs = (): string => bundle("examples/echo/server.ts", OURS_BUILT)

/** Bundles the client bench; throws on failure. */
export const buildClients = (): string => bundle("test/bench/clients.ts", CLIENTS_BUILT)

/** Bundles `entry` (relative to the repository) into `out`, dependencies left as imports. */
export const bundle = (entry: string, out: string): string => {
  // esbuild is not a dependency of ours: resolve it through tsx, which always has it.
  const require_ = createRequire(createRequire(join(root, "package.json")).resolve("tsx"))
  const esbuild = require_("esbuild") as Esbuild
  const outfile = join(root, out)
  esbuild.buildSync({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    target: "node20",
    sourcemap: true,
    logLevel: "warning",
    outfile
  })
  return outfile
}
