/**
 * Linux /proc readings: a process's CPU time (utime + stime, all threads),
 * its RSS, and the CPU used by every other process over a window.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"

export const hasProc = existsSync("/proc/self/stat")

/** Clock ticks per second for /proc/PID/stat (almost always 100). */
export const clockTicks: number = (() => {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim())
    return Number.isFinite(n) && n > 0 ? n : 100
  } catch {
    return 100
  }
})()

interface Stat {
  readonly comm: string
  readonly ppid: number
  /** utime + stime, in ticks. */
  readonly ticks: number
}

const readStat = (pid: number | string): Stat | undefined => {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined
  }
  // comm may contain spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(")")
  const comm = text.slice(text.indexOf("(") + 1, close)
  const f = text.slice(close + 2).split(" ")
  // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) }
}

/** CPU seconds used so far by `pid` (all its threads), or NaN when unreadable. */
export const cpuSeconds = (pid: number): number => {
  const s = readStat(pid)
  return s === undefined ? Number.NaN : s.ticks / clockTicks
}

/** Resident set size of `pid` in bytes (VmRSS), or NaN. */
export const rssBytes = (pid: number): number => {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return m === null ? Number.NaN : Number(m[1]) * 1024
  } catch {
    return Number.NaN
  }
}

export type Snapshot = ReadonlyMap<number, Stat>

/** CPU ticks of every user-space process except `exclude` (kernel threads are skipped). */
export const snapshotOthers = (exclude: ReadonlySet<number>): Snapshot => {
  const out = new Map<number, Stat>()
  if (!hasProc) return out
  for (const name of readdirSync("/proc")) {
    const c = name.charCodeAt(0)
    if (c < 48 || c > 57) continue
    const pid = Number(name)
    if (exclude.has(pid) || pid === 2) continue
    const s = readStat(pid)
    if (s === undefined || s.ppid === 2) continue
    out.set(pid, s)
  }
  return out
}

export interface OtherCpu {
  /** CPU seconds used by other processes between the snapshots. */
  readonly seconds: number
  /** The busiest of them, for the report. */
  readonly top: string
}

export const otherCpu = (before: Snapshot, after: Snapshot): OtherCpu => {
  let seconds = 0
  let topName = ""
  let topTicks = 0
  for (const [pid, s] of after) {
    // A process born during the window counts from zero.
    const d = s.ticks - (before.get(pid)?.ticks ?? 0)
    if (d <= 0) continue
    seconds += d / clockTicks
    if (d > topTicks) {
      topTicks = d
      topName = `${s.comm}[${pid}]`
    }
  }
  return { seconds, top: topName }
}

/** User and system CPU ticks of each thread of `pid`, by thread name (threads of one name summed). */
export const threadTicks = (pid: number): Map<string, { user: number; sys: number }> => {
  const out = new Map<string, { user: number; sys: number }>()
  let tids: Array<string>
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const tid of tids) {
    let text: string
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")
    } catch {
      continue
    }
    const close = text.lastIndexOf(")")
    const name = Number(tid) === pid ? "main" : text.slice(text.indexOf("(") + 1, close)
    const f = text.slice(close + 2).split(" ")
    const t = out.get(name) ?? { user: 0, sys: 0 }
    out.set(name, { user: t.user + Number(f[11]), sys: t.sys + Number(f[12]) })
  }
  return out
}
