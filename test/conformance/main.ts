/**
 * Prints the conformance table for a target and role.
 *
 *   npx tsx test/conformance/main.ts [--target ws|ours] [--role server|client] [--only 6.4] [-j 6]
 *
 * Exits non-zero when a case fails that is not a known deviation.
 */
import type { Role } from "./cases.js"
import { casesFor } from "./cases.js"
import { classify, formatReport, runAll } from "./suite.js"
import { allTargets } from "./targets.js"

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const main = async (): Promise<number> => {
  const target = allTargets.find((t) => t.name === (arg("--target") ?? "ws"))
  if (target === undefined) throw new Error(`unknown target; known: ${allTargets.map((t) => t.name).join(", ")}`)
  const unavailable = await target.unavailable()
  if (unavailable !== undefined) {
    console.log(`target ${target.name} unavailable: ${unavailable}`)
    return 0
  }
  const roles: ReadonlyArray<Role> = arg("--role") === undefined ? ["server", "client"] : [arg("--role") as Role]
  const only = arg("--only")
  let bad = 0
  for (const role of roles) {
    const cases = casesFor(role).filter((c) => only === undefined || c.id === only || c.id.startsWith(`${only}.`))
    const t0 = performance.now()
    const verdicts = await runAll(target, role, cases, Number(arg("-j") ?? "6"))
    console.log(formatReport(target, role, cases, verdicts))
    console.log(`(${role} role: ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`)
    bad += verdicts.filter((v) => classify(target, v) === "FAIL" || classify(target, v) === "UNEXPECTED PASS").length
  }
  return bad === 0 ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e)
    process.exit(2)
  }
)
