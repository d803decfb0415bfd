/**
 * Deterministic JSON-like test data: records with ids, words, prices,
 * timestamps — repetitive in structure, varied in values, like real API
 * traffic.
 */

const WORDS = [
  "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima",
  "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey",
  "xray", "yankee", "zulu", "status", "active", "pending", "error", "user", "order", "item", "price"
]

/** A small seeded PRNG (mulberry32). */
export const prng = (seed: number): (() => number) => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const encoder = new TextEncoder()

/** One JSON-like text of exactly `size` bytes (cut mid-record at the end). */
export const jsonLike = (size: number, seed: number): Uint8Array => {
  const r = prng(seed)
  const pick = () => WORDS[Math.floor(r() * WORDS.length)]
  const int = (n: number) => Math.floor(r() * n)
  let s = `{"type":"${pick()}","seq":${int(1e6)},"items":[`
  while (s.length < size) {
    s += `{"id":${int(1e9)},"name":"${pick()} ${pick()}","price":${(r() * 1000).toFixed(2)},`
    s += `"tags":["${pick()}","${pick()}"],"active":${r() < 0.5},`
    s += `"ts":"2024-0${1 + int(9)}-1${int(9)}T1${int(9)}:${10 + int(49)}:00Z"},`
  }
  return encoder.encode(s.slice(0, size))
}

/** Distinct messages of `size` bytes, at least `total` bytes in all. */
export const jsonLikeMessages = (size: number, total: number, seed = 1): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let sum = 0, i = 0; sum < total; i++) {
    const m = jsonLike(size, seed * 1_000_003 + i)
    out.push(m)
    sum += m.length
  }
  return out
}
