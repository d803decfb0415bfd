import * as v8 from "node:v8"
import * as vm from "node:vm"

/** `global.gc`, exposed through public v8/vm calls when node runs without --expose-gc. */
export const getGc = (): (() => void) | undefined => {
  const g = (globalThis as { gc?: () => void }).gc
  if (g !== undefined) return g
  try {
    v8.setFlagsFromString("--expose-gc")
    const fn: unknown = vm.runInNewContext("gc")
    return typeof fn === "function" ? (fn as () => void) : undefined
  } catch {
    return undefined
  }
}
