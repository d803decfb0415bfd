// RFC 1951 §3.2.5 length and distance tables, shared by both directions.

/** Base length of length symbols 257..285. */
export const LEN_BASE = memory.data<u16>([
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
  35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258
])
/** Extra bits of length symbols 257..285. */
export const LEN_EXTRA = memory.data<u8>([
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
  3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0
])
/** Base distance of distance symbols 0..29. */
export const DIST_BASE = memory.data<u16>([
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
  257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577
])
/** Extra bits of distance symbols 0..29. */
export const DIST_EXTRA = memory.data<u8>([
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
  7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13
])
/** Order in which code-length code lengths are sent. */
export const CL_ORDER = memory.data<u8>([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15])

/** Reverses the low `n` bits of `v` (1 <= n <= 16). */
// @ts-ignore: decorator
@inline
export function reverseBits(v: u32, n: u32): u32 {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1)
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2)
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4)
  return bswap<u32>(v) >>> (32 - n)
}

/** How many of the `n` code lengths at `lens` are 1..15, into `counts` (16 u16s; counts[0] is 0). */
export function countLengths(lens: usize, n: u32, counts: usize): void {
  memory.fill(counts, 0, 32)
  for (let s: u32 = 0; s < n; s++) {
    const l = <usize>load<u8>(lens + s)
    store<u16>(counts + (l << 1), load<u16>(counts + (l << 1)) + 1)
  }
  store<u16>(counts, 0)
}

/**
 * Canonical codes (RFC 1951 §3.2.2) of the `n` lengths at `lens`, whose
 * `counts` came from countLengths, stored bit-reversed (the order bits
 * travel in) as u16s at `codes`; 0 for unused symbols. `nextCode` is scratch
 * (16 u16s).
 */
export function canonicalCodes(lens: usize, n: u32, counts: usize, nextCode: usize, codes: usize): void {
  let code: u32 = 0
  for (let l: u32 = 1; l <= 15; l++) {
    code = (code + load<u16>(counts + ((l - 1) << 1))) << 1
    store<u16>(nextCode + (l << 1), <u16>code)
  }
  for (let s: u32 = 0; s < n; s++) {
    const l = <u32>load<u8>(lens + s)
    if (l != 0) {
      const c = <u32>load<u16>(nextCode + (l << 1))
      store<u16>(nextCode + (l << 1), <u16>(c + 1))
      store<u16>(codes + (s << 1), <u16>reverseBits(c, l))
    } else {
      store<u16>(codes + (s << 1), 0)
    }
  }
}
