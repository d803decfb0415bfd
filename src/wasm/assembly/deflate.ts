// RFC 1951 deflater for permessage-deflate: LZ77 over hash chains (greedy for
// the fast levels, lazy matching for the others), blocks coded with whichever
// of stored, fixed or dynamic Huffman codes is smallest.
//
// A context holds the window (history plus lookahead), the hash chains and a
// few scalars. Symbols, frequencies, code tables and the output are shared
// scratch: every call ends its block, so nothing of them outlives a call. Only
// the last < 8 bits of output carry over to the next call.

import { alloc, free, reserve } from "./mem"
import { CL_ORDER, DIST_BASE, DIST_EXTRA, LEN_BASE, LEN_EXTRA, reverseBits } from "./tables"

const MIN_MATCH: u32 = 3
const MAX_MATCH: u32 = 258
/** Lookahead kept before waiting for more input, so a match can reach full length. */
const MIN_LOOKAHEAD: u32 = MAX_MATCH + MIN_MATCH + 1
/** Slack after the window for word-sized reads past the lookahead. */
const WIN_SLACK: u32 = 320
/** A length-3 match farther than this costs more than three literals. */
const TOO_FAR: u32 = 4096

// Context header fields (byte offsets).
const D_SIZE: usize = 0
const D_WBITS: usize = 4
const D_LEVEL: usize = 8
const D_HBITS: usize = 12
const D_CAP: usize = 16
const D_STRSTART: usize = 20
const D_LOOKAHEAD: usize = 24
const D_BLOCKSTART: usize = 28
const D_MATCHAVAIL: usize = 32
const D_MATCHLEN: usize = 36
const D_MATCHSTART: usize = 40
const D_BITBUF: usize = 44
const D_BITCNT: usize = 48
const D_BASE: usize = 52
const D_MINPOS: usize = 56
const D_PEND: usize = 60
const D_PREV: usize = 64
const D_HEAD: usize = 68
const D_HEADER: u32 = 128

// Shared scratch.
const SYM_CAP: u32 = 16384
const OUT_CAP: u32 = 65536 + 8192
const symBuf: usize = reserve(SYM_CAP << 2)
const outBuf: usize = reserve(OUT_CAP)
const litFreq: usize = reserve(288 << 2)
const distFreq: usize = reserve(32 << 2)
const clFreq: usize = reserve(20 << 2)
const litLen: usize = reserve(288)
const distLen: usize = reserve(32)
const clLen: usize = reserve(20)
const litCode: usize = reserve(288 << 1)
const distCode: usize = reserve(32 << 1)
const clCode: usize = reserve(20 << 1)
const fixLitLen: usize = reserve(288)
const fixDistLen: usize = reserve(32)
const fixLitCode: usize = reserve(288 << 1)
const fixDistCode: usize = reserve(32 << 1)
const allLens: usize = reserve(320)
const rleBuf: usize = reserve(320 << 1)
const keys: usize = reserve(288 << 2)
const weight: usize = reserve(576 << 2)
const parent: usize = reserve(576 << 1)
const depth: usize = reserve(576 << 1)
const blCount: usize = reserve(16 << 1)
const nextCode: usize = reserve(16 << 1)
/** Length-3 → length symbol index (0..28). */
const lenCode: usize = reserve(256)
/** Distance-1 → distance symbol: d < 256 directly, else 256 + (d >> 7). */
const distSym: usize = reserve(512)

function initTables(): void {
  for (let c: u32 = 0; c < 29; c++) {
    const base = <u32>load<u16>(LEN_BASE + (c << 1)) - 3
    const n: u32 = 1 << load<u8>(LEN_EXTRA + c)
    for (let i: u32 = 0; i < n && base + i < 256; i++) store<u8>(lenCode + base + i, <u8>c)
  }
  store<u8>(lenCode + 255, 28)
  for (let c: u32 = 0; c < 30; c++) {
    const base = <u32>load<u16>(DIST_BASE + (c << 1)) - 1
    const n: u32 = 1 << load<u8>(DIST_EXTRA + c)
    for (let i: u32 = 0; i < n; i++) {
      const d = base + i
      if (d < 256) store<u8>(distSym + d, <u8>c)
      else store<u8>(distSym + 256 + (d >>> 7), <u8>c)
    }
  }
  for (let s: u32 = 0; s < 288; s++) store<u8>(fixLitLen + s, s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8)
  memory.fill(fixDistLen, 5, 32)
  genCodes(fixLitLen, 288, fixLitCode)
  genCodes(fixDistLen, 32, fixDistCode)
}

/** Canonical codes (RFC 1951 §3.2.2), stored bit-reversed, ready to send LSB first. */
function genCodes(lens: usize, n: u32, codes: usize): void {
  memory.fill(blCount, 0, 32)
  for (let s: u32 = 0; s < n; s++) {
    const l = <usize>load<u8>(lens + s)
    store<u16>(blCount + (l << 1), load<u16>(blCount + (l << 1)) + 1)
  }
  store<u16>(blCount, 0)
  let code: u32 = 0
  for (let l: u32 = 1; l <= 15; l++) {
    code = (code + load<u16>(blCount + ((l - 1) << 1))) << 1
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

/**
 * Huffman code lengths (at most `maxBits`) for the `n` frequencies at `freq`.
 * Always a complete code with at least two symbols, as inflaters require.
 */
function buildLengths(freq: usize, n: u32, lens: usize, maxBits: u32): void {
  let cnt: u32 = 0
  for (let s: u32 = 0; s < n; s++) {
    store<u8>(lens + s, 0)
    const f = load<u32>(freq + (s << 2))
    if (f != 0) store<u32>(keys + (cnt++ << 2), (f << 9) | s)
  }
  if (cnt < 2) {
    // Pad to two one-bit codes: the symbol used (if any) and a neighbour.
    const s = cnt == 1 ? load<u32>(keys) & 511 : 0
    store<u8>(lens + s, 1)
    store<u8>(lens + (s == 0 ? 1 : s - 1), 1)
    return
  }
  // Shell sort by frequency, then symbol.
  for (let gap: u32 = cnt >>> 1; gap > 0; gap = gap == 2 ? 1 : (gap * 5) / 11) {
    for (let i = gap; i < cnt; i++) {
      const k = load<u32>(keys + (i << 2))
      let j = i
      while (j >= gap && load<u32>(keys + ((j - gap) << 2)) > k) {
        store<u32>(keys + (j << 2), load<u32>(keys + ((j - gap) << 2)))
        j -= gap
      }
      store<u32>(keys + (j << 2), k)
    }
  }
  // Two-queue Huffman construction; scale the weights down until the longest
  // code fits (rare: needs Fibonacci-like frequencies).
  for (let shift: u32 = 0; ; shift++) {
    for (let i: u32 = 0; i < cnt; i++) {
      const w = (load<u32>(keys + (i << 2)) >>> 9) >>> shift
      store<u32>(weight + (i << 2), w == 0 ? 1 : w)
    }
    let leaf: u32 = 0
    let inner: u32 = cnt
    let next: u32 = cnt
    for (let k: u32 = 1; k < cnt; k++) {
      let a: u32
      let b: u32
      if (leaf < cnt && (inner >= next || load<u32>(weight + (leaf << 2)) <= load<u32>(weight + (inner << 2)))) a = leaf++
      else a = inner++
      if (leaf < cnt && (inner >= next || load<u32>(weight + (leaf << 2)) <= load<u32>(weight + (inner << 2)))) b = leaf++
      else b = inner++
      store<u32>(weight + (next << 2), load<u32>(weight + (a << 2)) + load<u32>(weight + (b << 2)))
      store<u16>(parent + (a << 1), <u16>next)
      store<u16>(parent + (b << 1), <u16>next)
      next++
    }
    const root = next - 1
    store<u16>(depth + (root << 1), 0)
    let maxDepth: u32 = 0
    for (let i = <i32>root - 1; i >= 0; i--) {
      const d = <u32>load<u16>(depth + (<u32>load<u16>(parent + (<u32>i << 1)) << 1)) + 1
      store<u16>(depth + (<u32>i << 1), <u16>d)
      if (d > maxDepth) maxDepth = d
    }
    if (maxDepth <= maxBits) {
      for (let i: u32 = 0; i < cnt; i++) {
        store<u8>(lens + (load<u32>(keys + (i << 2)) & 511), <u8>load<u16>(depth + (i << 1)))
      }
      return
    }
  }
}

// ---- bit writer ----
let outP: usize = 0
let bitBuf: u64 = 0
let bitCnt: u32 = 0

// @ts-ignore: decorator
@inline
function putBits(v: u32, n: u32): void {
  bitBuf |= (<u64>v) << bitCnt
  bitCnt += n
  if (bitCnt >= 32) {
    store<u32>(outP, <u32>bitBuf)
    outP += 4
    bitBuf >>= 32
    bitCnt -= 32
  }
}

function flushBytes(): void {
  while (bitCnt >= 8) {
    store<u8>(outP, <u8>bitBuf)
    outP++
    bitBuf >>= 8
    bitCnt -= 8
  }
}

function alignByte(): void {
  bitCnt = (bitCnt + 7) & ~(<u32>7)
  flushBytes()
}

// ---- run state (loaded from the context for one call) ----
let win: usize = 0
let prev: usize = 0
let head: usize = 0
let wsize: u32 = 0
let wmask: u32 = 0
let hshift: u32 = 0
let base: u32 = 0
let strstart: u32 = 0
let lookahead: u32 = 0
let blockStart: u32 = 0
let minPos: u32 = 0
let matchStart: u32 = 0
let symP: usize = 0
let maxChain: u32 = 0
let goodMatch: u32 = 0
let niceMatch: u32 = 0
let maxLazy: u32 = 0

// Level parameters (as zlib tunes them): good, lazy (or max insert), nice, chain.
const CONFIG = memory.data<u16>([
  0, 0, 0, 0,
  4, 4, 8, 4,
  4, 5, 16, 8,
  4, 6, 32, 32,
  4, 4, 16, 16,
  8, 16, 32, 32,
  8, 16, 128, 128,
  8, 32, 128, 256,
  32, 128, 258, 1024,
  32, 258, 258, 4096
])

/**
 * Chains link positions with equal 4-byte prefixes: fewer, better candidates
 * than 3 bytes (matches of 3 are rarely worth it); measured equal to or
 * better than zlib's ratio at the same level.
 */
// @ts-ignore: decorator
@inline
function hashAt(p: u32): u32 {
  return (load<u32>(win + p) * 0x9e3779b1) >>> hshift
}

/** Inserts position `p` into its hash chain; returns the previous head. */
// @ts-ignore: decorator
@inline
function insert(p: u32): u32 {
  const h = <usize>hashAt(p) << 1
  const cand = <u32>load<u16>(head + h)
  store<u16>(prev + (<usize>((p + base) & wmask) << 1), <u16>cand)
  store<u16>(head + h, <u16>p)
  return cand
}

/** The lowest position a match from `p` may start at. */
// @ts-ignore: decorator
@inline
function lowest(p: u32): u32 {
  // Distances stay below the window size, so the prev ring never aliases.
  let lim = p > wsize - 1 ? p - (wsize - 1) : 1
  return lim > minPos ? lim : minPos > 0 ? minPos : 1
}

function longestMatch(cur: u32, prevLen: u32): u32 {
  let chain = maxChain
  if (prevLen >= goodMatch) chain >>= 2
  let best = prevLen
  const scan = win + strstart
  const maxLen = lookahead < MAX_MATCH ? lookahead : MAX_MATCH
  const nice = niceMatch < maxLen ? niceMatch : maxLen
  const lim = lowest(strstart)
  let scanEnd = load<u16>(scan + best - 1)
  const scanStart = load<u16>(scan)
  do {
    const m = win + cur
    if (load<u16>(m + best - 1) == scanEnd && load<u16>(m) == scanStart) {
      let len: u32 = 2
      for (;;) {
        const x = load<u64>(scan + len) ^ load<u64>(m + len)
        if (x != 0) {
          len += <u32>ctz<u64>(x) >>> 3
          break
        }
        len += 8
        if (len >= maxLen) break
      }
      if (len > maxLen) len = maxLen
      if (len > best) {
        matchStart = cur
        best = len
        if (len >= nice) break
        scanEnd = load<u16>(scan + best - 1)
      }
    }
    cur = <u32>load<u16>(prev + (<usize>((cur + base) & wmask) << 1))
  } while (cur >= lim && --chain != 0)
  return best <= lookahead ? best : lookahead
}

// @ts-ignore: decorator
@inline
function tallyLit(c: u32): void {
  store<u32>(symP, c)
  symP += 4
  const f = litFreq + (<usize>c << 2)
  store<u32>(f, load<u32>(f) + 1)
}

// @ts-ignore: decorator
@inline
function tallyMatch(dist: u32, len: u32): void {
  store<u32>(symP, (dist << 16) | (len - MIN_MATCH))
  symP += 4
  const lf = litFreq + ((257 + <usize>load<u8>(lenCode + len - MIN_MATCH)) << 2)
  store<u32>(lf, load<u32>(lf) + 1)
  const d = dist - 1
  const ds = d < 256 ? load<u8>(distSym + d) : load<u8>(distSym + 256 + (d >>> 7))
  const df = distFreq + (<usize>ds << 2)
  store<u32>(df, load<u32>(df) + 1)
}

function emitSymbols(lc: usize, ll: usize, dc: usize, dl: usize): void {
  for (let p = symBuf; p < symP; p += 4) {
    const s = load<u32>(p)
    if (s < 0x10000) {
      putBits(load<u16>(lc + (<usize>s << 1)), load<u8>(ll + s))
    } else {
      const l = s & 0xffff
      const c = <usize>load<u8>(lenCode + l)
      const sym = <usize>257 + c
      const n = <u32>load<u8>(ll + sym)
      putBits(
        <u32>load<u16>(lc + (sym << 1)) | ((l + MIN_MATCH - <u32>load<u16>(LEN_BASE + (c << 1))) << n),
        n + load<u8>(LEN_EXTRA + c)
      )
      const dist = s >>> 16
      const d = dist - 1
      const ds = <usize>(d < 256 ? load<u8>(distSym + d) : load<u8>(distSym + 256 + (d >>> 7)))
      const dn = <u32>load<u8>(dl + ds)
      putBits(
        <u32>load<u16>(dc + (ds << 1)) | ((dist - <u32>load<u16>(DIST_BASE + (ds << 1))) << dn),
        dn + load<u8>(DIST_EXTRA + ds)
      )
    }
  }
  putBits(load<u16>(lc + (256 << 1)), load<u8>(ll + 256))
}

function emitStored(from: usize, len: u32): void {
  for (;;) {
    const n = len < 65535 ? len : 65535
    putBits(0, 3)
    alignByte()
    store<u16>(outP, <u16>n)
    store<u16>(outP + 2, <u16>~n)
    memory.copy(outP + 4, from, n)
    outP += 4 + n
    from += n
    len -= n
    if (len == 0) break
  }
}

/** Ends the current block at window position `end` (everything before it is tallied). */
function flushBlock(end: u32): void {
  const len = end - blockStart
  if (symP == symBuf) {
    blockStart = end
    return
  }
  store<u32>(litFreq + (256 << 2), 1)
  buildLengths(litFreq, 286, litLen, 15)
  buildLengths(distFreq, 30, distLen, 15)
  let hlit: u32 = 286
  while (hlit > 257 && load<u8>(litLen + hlit - 1) == 0) hlit--
  let hdist: u32 = 30
  while (hdist > 1 && load<u8>(distLen + hdist - 1) == 0) hdist--
  // Run-length code the code lengths (RFC 1951 §3.2.7).
  memory.copy(allLens, litLen, hlit)
  memory.copy(allLens + hlit, distLen, hdist)
  const total = hlit + hdist
  memory.fill(clFreq, 0, 19 << 2)
  let r = rleBuf
  for (let i: u32 = 0; i < total; ) {
    const v = <u32>load<u8>(allLens + i)
    let run: u32 = 1
    while (i + run < total && <u32>load<u8>(allLens + i + run) == v) run++
    i += run
    if (v == 0) {
      while (run >= 11) {
        const k = run < 138 ? run : 138
        store<u16>(r, <u16>(18 | ((k - 11) << 5)))
        r += 2
        run -= k
      }
      if (run >= 3) {
        store<u16>(r, <u16>(17 | ((run - 3) << 5)))
        r += 2
        run = 0
      }
    } else {
      store<u16>(r, <u16>v)
      r += 2
      run--
      while (run >= 3) {
        const k = run < 6 ? run : 6
        store<u16>(r, <u16>(16 | ((k - 3) << 5)))
        r += 2
        run -= k
      }
    }
    while (run > 0) {
      store<u16>(r, <u16>v)
      r += 2
      run--
    }
  }
  for (let p = rleBuf; p < r; p += 2) {
    const f = clFreq + ((<usize>load<u16>(p) & 31) << 2)
    store<u32>(f, load<u32>(f) + 1)
  }
  buildLengths(clFreq, 19, clLen, 7)
  let hclen: u32 = 19
  while (hclen > 4 && load<u8>(clLen + load<u8>(CL_ORDER + hclen - 1)) == 0) hclen--

  // Sizes in bits of the three ways to send the block.
  let extra: u64 = 0
  let dynBits: u64 = 0
  let fixBits: u64 = 0
  for (let s: u32 = 0; s < 286; s++) {
    const f = <u64>load<u32>(litFreq + (s << 2))
    dynBits += f * load<u8>(litLen + s)
    fixBits += f * load<u8>(fixLitLen + s)
    if (s >= 257) extra += f * load<u8>(LEN_EXTRA + s - 257)
  }
  for (let s: u32 = 0; s < 30; s++) {
    const f = <u64>load<u32>(distFreq + (s << 2))
    dynBits += f * load<u8>(distLen + s)
    fixBits += f * 5
    extra += f * load<u8>(DIST_EXTRA + s)
  }
  let header: u64 = 14 + 3 * <u64>hclen
  for (let s: u32 = 0; s < 19; s++) header += <u64>load<u32>(clFreq + (s << 2)) * load<u8>(clLen + s)
  header +=
    2 * <u64>load<u32>(clFreq + (16 << 2)) + 3 * <u64>load<u32>(clFreq + (17 << 2)) + 7 * <u64>load<u32>(clFreq + (18 << 2))
  dynBits += 3 + header + extra
  fixBits += 3 + extra
  const storedBlocks = len == 0 ? 1 : (len + 65534) / 65535
  const storedBits: u64 = <u64>storedBlocks * 42 + (<u64>len << 3)

  if (storedBits <= dynBits && storedBits <= fixBits) {
    emitStored(win + blockStart, len)
  } else if (fixBits <= dynBits) {
    putBits(2, 3)
    emitSymbols(fixLitCode, fixLitLen, fixDistCode, fixDistLen)
  } else {
    putBits(4, 3)
    genCodes(litLen, 286, litCode)
    genCodes(distLen, 30, distCode)
    genCodes(clLen, 19, clCode)
    putBits(hlit - 257, 5)
    putBits(hdist - 1, 5)
    putBits(hclen - 4, 4)
    for (let i: u32 = 0; i < hclen; i++) putBits(load<u8>(clLen + load<u8>(CL_ORDER + i)), 3)
    for (let p = rleBuf; p < r; p += 2) {
      const e = <u32>load<u16>(p)
      const s = e & 31
      putBits(load<u16>(clCode + (s << 1)), load<u8>(clLen + s))
      if (s == 16) putBits(e >>> 5, 2)
      else if (s == 17) putBits(e >>> 5, 3)
      else if (s == 18) putBits(e >>> 5, 7)
    }
    emitSymbols(litCode, litLen, distCode, distLen)
  }
  memory.fill(litFreq, 0, 288 << 2)
  memory.fill(distFreq, 0, 32 << 2)
  symP = symBuf
  blockStart = end
}

const SYM_END: usize = symBuf + ((<usize>SYM_CAP - 2) << 2)

/** Greedy matching (levels 1-3). */
function deflateFast(more: bool): void {
  for (;;) {
    if (lookahead < MIN_LOOKAHEAD) {
      if (more || lookahead == 0) break
    }
    let cand: u32 = 0
    if (lookahead >= MIN_MATCH) cand = insert(strstart)
    let ml: u32 = 0
    if (cand != 0 && cand >= lowest(strstart)) ml = longestMatch(cand, MIN_MATCH - 1)
    if (ml >= MIN_MATCH) {
      tallyMatch(strstart - matchStart, ml)
      lookahead -= ml
      if (ml <= maxLazy && lookahead >= MIN_MATCH) {
        ml--
        do {
          strstart++
          insert(strstart)
        } while (--ml != 0)
        strstart++
      } else {
        strstart += ml
      }
    } else {
      tallyLit(load<u8>(win + strstart))
      lookahead--
      strstart++
    }
    if (symP >= SYM_END) flushBlock(strstart)
  }
}

let matchLen: u32 = 0
let matchAvail: u32 = 0

/** Lazy matching (levels 4-9): a match is taken only if the next position has no longer one. */
function deflateSlow(more: bool): void {
  for (;;) {
    if (lookahead < MIN_LOOKAHEAD) {
      if (more || lookahead == 0) break
    }
    let cand: u32 = 0
    if (lookahead >= MIN_MATCH) cand = insert(strstart)
    const prevLen = matchLen
    const prevMatch = matchStart
    matchLen = MIN_MATCH - 1
    if (cand != 0 && prevLen < maxLazy && cand >= lowest(strstart)) {
      matchLen = longestMatch(cand, prevLen)
      if (matchLen == MIN_MATCH && strstart - matchStart > TOO_FAR) matchLen = MIN_MATCH - 1
      if (matchLen <= prevLen) matchStart = prevMatch
    }
    if (prevLen >= MIN_MATCH && matchLen <= prevLen) {
      const maxInsert = strstart + lookahead - MIN_MATCH
      tallyMatch(strstart - 1 - prevMatch, prevLen)
      lookahead -= prevLen - 1
      let n = prevLen - 2
      do {
        strstart++
        if (strstart <= maxInsert) insert(strstart)
      } while (--n != 0)
      matchAvail = 0
      matchLen = MIN_MATCH - 1
      strstart++
      if (symP >= SYM_END) flushBlock(strstart)
    } else if (matchAvail != 0) {
      tallyLit(load<u8>(win + strstart - 1))
      if (symP >= SYM_END) flushBlock(strstart)
      strstart++
      lookahead--
    } else {
      matchAvail = 1
      strstart++
      lookahead--
    }
  }
  if (!more && matchAvail != 0) {
    tallyLit(load<u8>(win + strstart - 1))
    matchAvail = 0
  }
}

/** A new deflater; 0 when out of memory. */
export function defNew(windowBits: u32, level: u32): usize {
  const wb = windowBits < 8 ? 8 : windowBits > 15 ? 15 : windowBits
  const lv = level < 1 ? 1 : level > 9 ? 9 : level
  const w: u32 = 1 << wb
  const cap: u32 = w + 16384
  // 2^13 chains lose < 0.2% of ratio against 2^14 or 2^15 here and save 16-48 KiB.
  const hb: u32 = wb - 1 < 10 ? 10 : wb - 1 > 13 ? 13 : wb - 1
  const winOff = D_HEADER
  const prevOff = winOff + cap + WIN_SLACK
  const headOff = prevOff + (w << 1)
  const size = headOff + (<u32>2 << hb)
  const ctx = alloc(size)
  if (ctx == 0) return 0
  memory.fill(ctx, 0, D_HEADER + cap + WIN_SLACK)
  memory.fill(ctx + headOff, 0, <usize>2 << hb)
  store<u32>(ctx + D_SIZE, size)
  store<u32>(ctx + D_WBITS, wb)
  store<u32>(ctx + D_LEVEL, lv)
  store<u32>(ctx + D_HBITS, hb)
  store<u32>(ctx + D_CAP, cap)
  store<u32>(ctx + D_PREV, prevOff)
  store<u32>(ctx + D_HEAD, headOff)
  return ctx
}

export function defFree(ctx: usize): void {
  free(ctx, load<u32>(ctx + D_SIZE))
}

/** Starts a message that must not refer to earlier ones (no context takeover). */
export function defReset(ctx: usize): void {
  store<u32>(ctx + D_MINPOS, load<u32>(ctx + D_STRSTART) + load<u32>(ctx + D_LOOKAHEAD))
  store<u32>(ctx + D_PEND, 0)
}

/**
 * Makes room for input, sliding the window when it is mostly full, and
 * returns how many bytes the caller may write at `defIn(ctx)`.
 */
export function defPrepare(ctx: usize): u32 {
  const cap = load<u32>(ctx + D_CAP)
  const w: u32 = 1 << load<u32>(ctx + D_WBITS)
  const s = load<u32>(ctx + D_STRSTART)
  const la = load<u32>(ctx + D_LOOKAHEAD)
  const used = s + la
  if (s > w && cap - used < (cap - w) >>> 1) {
    const by = s - w
    const wp = ctx + D_HEADER
    memory.copy(wp, wp + by, used - by)
    store<u32>(ctx + D_STRSTART, s - by)
    const bs = load<u32>(ctx + D_BLOCKSTART)
    store<u32>(ctx + D_BLOCKSTART, bs > by ? bs - by : 0)
    const mp = load<u32>(ctx + D_MINPOS)
    store<u32>(ctx + D_MINPOS, mp > by ? mp - by : 0)
    const ms = load<u32>(ctx + D_MATCHSTART)
    store<u32>(ctx + D_MATCHSTART, ms > by ? ms - by : 0)
    store<u32>(ctx + D_BASE, load<u32>(ctx + D_BASE) + by)
    // Rebase the chains: positions below `by` become 0, the empty chain.
    const sub = i16x8.splat(<i16>by)
    const hp = ctx + load<u32>(ctx + D_HEAD)
    const hend = hp + (<usize>2 << load<u32>(ctx + D_HBITS))
    for (let p = hp; p < hend; p += 16) v128.store(p, i16x8.sub_sat_u(v128.load(p), sub))
    const pp = ctx + load<u32>(ctx + D_PREV)
    const pend = pp + (<usize>w << 1)
    for (let p = pp; p < pend; p += 16) v128.store(p, i16x8.sub_sat_u(v128.load(p), sub))
    return cap - (used - by)
  }
  return cap - used
}

/** Where the next input goes (valid after `defPrepare`). */
export function defIn(ctx: usize): usize {
  return ctx + D_HEADER + load<u32>(ctx + D_STRSTART) + load<u32>(ctx + D_LOOKAHEAD)
}

/**
 * Compresses `n` new bytes placed at `defIn(ctx)`. `flush`: 0 more input of
 * this push follows, 1 end of the push, 2 end of the message (sync flush, its
 * 00 00 FF FF tail left out). Returns the number of output bytes at `outPtr()`.
 */
export function defRun(ctx: usize, n: u32, flush: u32): u32 {
  const wb = load<u32>(ctx + D_WBITS)
  const level = load<u32>(ctx + D_LEVEL)
  win = ctx + D_HEADER
  prev = ctx + load<u32>(ctx + D_PREV)
  head = ctx + load<u32>(ctx + D_HEAD)
  wsize = 1 << wb
  wmask = wsize - 1
  hshift = 32 - load<u32>(ctx + D_HBITS)
  base = load<u32>(ctx + D_BASE)
  strstart = load<u32>(ctx + D_STRSTART)
  lookahead = load<u32>(ctx + D_LOOKAHEAD) + n
  blockStart = load<u32>(ctx + D_BLOCKSTART)
  minPos = load<u32>(ctx + D_MINPOS)
  matchStart = load<u32>(ctx + D_MATCHSTART)
  matchLen = load<u32>(ctx + D_MATCHLEN)
  matchAvail = load<u32>(ctx + D_MATCHAVAIL)
  goodMatch = load<u16>(CONFIG + (level << 3))
  maxLazy = load<u16>(CONFIG + (level << 3) + 2)
  niceMatch = load<u16>(CONFIG + (level << 3) + 4)
  maxChain = load<u16>(CONFIG + (level << 3) + 6)
  symP = symBuf
  outP = outBuf
  bitBuf = <u64>load<u32>(ctx + D_BITBUF)
  bitCnt = load<u32>(ctx + D_BITCNT)
  // The last three positions of the previous push were hashed without their
  // fourth byte: hash them again now that it is known.
  if (load<u32>(ctx + D_PEND) != 0) {
    for (let p = strstart >= 3 ? strstart - 3 : 0; p < strstart; p++) {
      if (p >= minPos && p != 0 && p + 4 <= strstart + lookahead) insert(p)
    }
    store<u32>(ctx + D_PEND, 0)
  }
  const more = flush == 0
  if (level <= 3) deflateFast(more)
  else deflateSlow(more)
  flushBlock(strstart - matchAvail)
  if (flush == 2) {
    putBits(0, 3)
    alignByte()
  }
  flushBytes()
  if (!more) store<u32>(ctx + D_PEND, 1)
  store<u32>(ctx + D_STRSTART, strstart)
  store<u32>(ctx + D_LOOKAHEAD, lookahead)
  store<u32>(ctx + D_BLOCKSTART, blockStart)
  store<u32>(ctx + D_MATCHSTART, matchStart)
  store<u32>(ctx + D_MATCHLEN, matchLen)
  store<u32>(ctx + D_MATCHAVAIL, matchAvail)
  store<u32>(ctx + D_BITBUF, <u32>bitBuf)
  store<u32>(ctx + D_BITCNT, bitCnt)
  return <u32>(outP - outBuf)
}

/** The output of the last `defRun`. */
export function outPtr(): usize {
  return outBuf
}

initTables()
