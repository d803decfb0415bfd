/**
 * Running the catalogue: a pool of concurrent cases, one echo server per
 * read limit, and the printed table with a summary line per category.
 */
import type { Case, Role } from "./cases.js"
import { categoryNames, DEFAULT_READ_LIMIT } from "./cases.js"
import type { Verdict } from "./run.js"
import { runClientCase, runServerCase } from "./run.js"
import type { DeflateConfig, ServerHandle, ServerTarget, Target } from "./targets.js"

/** Echo servers started on demand, one per read limit and compression setting, stopped together. */
export class ServerPool {
  private readonly started = new Map<string, Promise<ServerHandle>>()
  constructor(private readonly target: ServerTarget) {}

  url(readLimit: number, compression?: DeflateConfig): Promise<string> {
    const key = `${readLimit} ${JSON.stringify(compression ?? null)}`
    let h = this.started.get(key)
    if (h === undefined) {
      h = this.target.start(compression === undefined ? { readLimit } : { readLimit, compression })
      this.started.set(key, h)
    }
    return h.then((s) => s.url)
  }

  async stop(): Promise<void> {
    const all = await Promise.allSettled(this.started.values())
    this.started.clear()
    await Promise.all(all.map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)))
  }
}

export const runCase = async (target: Target, role: Role, c: Case, pool: ServerPool): Promise<Verdict> => {
  try {
    return role === "server"
      ? await runServerCase(c, await pool.url(c.readLimit ?? DEFAULT_READ_LIMIT, c.deflate?.target))
      : await runClientCase(c, target.client)
  } catch (e) {
    const problem = `harness error: ${e instanceof Error ? e.message : String(e)}`
    return { id: c.id, role, pass: false, problems: [problem], observed: "", ms: 0 }
  }
}

/** Big cases first so that they overlap with the many small ones. */
const weight = (c: Case): number => (c.category === "9" ? 0 : 1)

/** Runs `cases` with at most `concurrency` at a time; results in catalogue order. */
export const runAll = async (
  target: Target,
  role: Role,
  cases: ReadonlyArray<Case>,
  concurrency = 6,
  onResult?: (v: Verdict) => void
): Promise<Array<Verdict>> => {
  const pool = new ServerPool(target.server)
  const order = cases.map((c, i) => ({ c, i })).sort((a, b) => weight(a.c) - weight(b.c))
  const results: Array<Verdict | undefined> = new Array(cases.length)
  let next = 0
  const worker = async (): Promise<void> => {
    for (;;) {
      const job = order[next++]
      if (job === undefined) return
      const v = await runCase(target, role, job.c, pool)
      results[job.i] = v
      onResult?.(v)
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker))
  } finally {
    await pool.stop()
  }
  return results.filter((v): v is Verdict => v !== undefined)
}

/** What a verdict means for this target: pass, a known deviation, or a failure. */
export const classify = (target: Target, v: Verdict): "PASS" | "DEVIATION" | "FAIL" | "UNEXPECTED PASS" => {
  const known = target.knownDeviations[v.role][v.id] !== undefined
  if (v.pass) return known ? "UNEXPECTED PASS" : "PASS"
  return known ? "DEVIATION" : "FAIL"
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + " ".repeat(n - s.length))

/**
 * The table (case, verdict, what happened) and a summary line per category.
 * Without `full`, the table keeps only the rows that did not pass.
 */
export const formatReport = (
  target: Target,
  role: Role,
  cases: ReadonlyArray<Case>,
  verdicts: ReadonlyArray<Verdict>,
  full = true
): string => {
  const byId = new Map(cases.map((c) => [c.id, c]))
  const lines: Array<string> = [`conformance: target ${target.name}, role ${role}${full ? "" : " (rows that did not pass)"}`, ""]
  lines.push(`${pad("case", 9)} ${pad("verdict", 15)} ${pad("ms", 6)} ${pad("observed", 44)} problems`)
  for (const v of verdicts) {
    if (!full && classify(target, v) === "PASS") continue
    const c = byId.get(v.id)
    const id = c?.autobahn === false ? `${v.id}*` : v.id
    const why = v.pass ? "" : v.problems.join("; ")
    lines.push(`${pad(id, 9)} ${pad(classify(target, v), 15)} ${pad(v.ms.toFixed(0), 6)} ${pad(v.observed, 44)} ${why}`)
  }
  lines.push("", "* not an Autobahn case (ours)", "")
  const cats = new Map<string, Array<Verdict>>()
  for (const v of verdicts) {
    const cat = byId.get(v.id)?.category ?? "?"
    const list = cats.get(cat) ?? []
    list.push(v)
    cats.set(cat, list)
  }
  let pass = 0
  let dev = 0
  let failed = 0
  for (const [cat, list] of [...cats.entries()].sort((a, b) => Number(a[0]) - Number(b[0]))) {
    const k = list.map((v) => classify(target, v))
    const p = k.filter((x) => x === "PASS").length
    const d = k.filter((x) => x === "DEVIATION").length
    const f = list.length - p - d
    pass += p
    dev += d
    failed += f
    lines.push(`${pad(`category ${cat}`, 12)} ${pad(categoryNames[cat] ?? "", 20)} ${list.length} cases: ${p} pass, ${d} known deviations, ${f} fail`)
  }
  lines.push(`total: ${verdicts.length} cases: ${pass} pass, ${dev} known deviations, ${failed} fail`)
  const deviations = Object.entries(target.knownDeviations[role])
  if (deviations.length > 0) {
    lines.push("", `known deviations of ${target.name} (${role}):`)
    for (const [id, why] of deviations) lines.push(`  ${pad(id, 8)} ${why}`)
  }
  return lines.join("\n")
}
