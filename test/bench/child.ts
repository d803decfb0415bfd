/**
 * Helpers for the benchmark's child processes.
 */

/**
 * When started by the harness (BENCH_CHILD=1, stdin a pipe), exits as soon
 * as the harness goes away, even if it was killed with SIGKILL.
 */
export const exitWithParent = (): void => {
  if (process.env["BENCH_CHILD"] !== "1") return
  process.stdin.on("end", () => process.exit(0))
  process.stdin.on("error", () => process.exit(0))
  process.stdin.resume()
}

/** Reads `--name value` / `--flag` style arguments. */
export const parseArgs = (argv: ReadonlyArray<string>): { flags: Map<string, string>; positional: Array<string> } => {
  const flags = new Map<string, string>()
  const positional: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? ""
    if (a.startsWith("--")) {
      const eq = a.indexOf("=")
      if (eq > 0) {
        flags.set(a.slice(2, eq), a.slice(eq + 1))
      } else {
        const next = argv[i + 1]
        if (next !== undefined && !next.startsWith("--")) {
          flags.set(a.slice(2), next)
          i++
        } else {
          flags.set(a.slice(2), "")
        }
      }
    } else {
      positional.push(a)
    }
  }
  return { flags, positional }
}

export const numberFlag = (flags: ReadonlyMap<string, string>, name: string, fallback: number): number => {
  const v = flags.get(name)
  if (v === undefined || v === "") return fallback
  const n = Number(v)
  if (!Number.isFinite(n)) throw new Error(`--${name}: not a number: ${v}`)
  return n
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export const percentile = (sorted: ArrayLike<number>, p: number): number => {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i] ?? Number.NaN
}
