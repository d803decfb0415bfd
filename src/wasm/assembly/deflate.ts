// RFC 1951 deflater for permessage-deflate: LZ77 over hash chains (greedy for
// the fast levels, lazy matching for the others), blocks coded with whichever
// of stored, fixed or dynamic Huffman codes is smallest.
//
// JavaScript runs one push at a time, so everything a push works with (the
// window it matches in, the hash chains, symbols, code tables, output) is one
// shared set for all contexts. A context keeps only what its next push needs:
// the last 2 KiB (levels 1-3) or 4 KiB it compressed, which the next push
// copies in front of its input and hashes again (a sender may refer to less
// than the agreed window), and the < 8 output bits not yet written: a block
// of 2,112 or 4,160 bytes (64 + 2^windowBits for smaller windows). Output
// thus does not depend on how the pushes of contexts interleave.

import { alloc, free, reserve } from "./mem"
import { canonicalCodes, CL_ORDER, countLengths, DIST_BASE, DIST_EXTRA, LEN_BASE, LEN_EXTRA } from "./tables"

const MIN_MATCH: u32 = 3
/**
 * Bytes a position's hash covers: only positions with that many bytes of
 * input are hashed, so that no hash depends on bytes past the input (another
 * context's, in the shared window).
 */
const HASH_BYTES: u32 = 4
const MAX_MATCH: u32 = 258
/** Lookahead kept before waiting for more input, so a match can reach full length. */
const MIN_LOOKAHEAD: u32 = MAX_MATCH + MIN_MATCH + 1
/** Slack after the window for word-sized reads past the lookahead. */
const WIN_SLACK: u32 = 320
/** A length-3 match farther than this costs more than three literals. */
const TOO_FAR: u32 = 4096
/**
 * History a context keeps between pushes, by level. Hashing it again costs
 * about 1 ns a byte per push; measured on 1 KiB JSON-like messages, eight
 * contexts taking turns (ratio, pushes/s relative to 2 KiB):
 * level 1: 1 KiB 3.56 (+3%), 2 KiB 3.60, 4 KiB 3.62 (-12%), 8 KiB 3.63 (-27%);
 * level 6: 1 KiB 3.96 (+5%), 2 KiB 4.11, 4 KiB 4.25 (-12%), 8 KiB 4.43 (-29%).
 * The fast levels find little beyond 2 KiB; the lazy ones keep gaining.
 */
const HIST_FAST: u32 = 2048
const HIST_LAZY: u32 = 4096

// Context fields (byte offsets); the history follows the header.
const D_SIZE: usize = 0
const D_WBITS: usize = 4
const D_LEVEL: usize = 8
const D_HLEN: usize = 12
const D_HCAP: usize = 16
const D_BITBUF: usize = 20
const D_BITCNT: usize = 24
const D_HEADER: u32 = 64

// The shared window: positions are u16 (0 is the empty chain), so it holds
// less than 64 KiB; pushes take it in turns from `gpos` on.
const WIN_CAP: u32 = 65536 - 1024
/** Input taken per call; the window slides when it has less room than this. */
const MIN_ROOM: u32 = 16384
/** 2^13 hash heads lose < 0.2% of ratio against 2^14 or 2^15 here. */
const HBITS: u32 = 13
/** The chain ring covers the largest window, 2^15. */
const PREV_MASK: u32 = 0x7fff
const win: usize = reserve(WIN_CAP + WIN_SLACK)
const head: usize = reserve(<usize>2 << HBITS)
const prev: usize = reserve(<usize>2 << 15)

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
  countLengths(lens, n, blCount)
  canonicalCodes(lens, n, blCount, nextCode, codes)
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

// ---- push state (shared: one push at a time) ----
/** The context whose push is under way; 0 between pushes. */
let owner: usize = 0
/** Where the next push may start in the window: every chain entry lies below it. */
let gpos: u32 = 1
/** Offset of the chain ring, so that sliding the window does not move it. */
let gbase: u32 = 0
/** Positions inserted by the last push whose fourth byte is unknown yet. */
let pend: bool = false

let wsize: u32 = 0
let strstart: u32 = 0
let lookahead: u32 = 0
let blockStart: u32 = 0
/** The lowest position of this push's data (its history included). */
let minPos: u32 = 0
let matchStart: u32 = 0
let symP: usize = 0
let maxChain: u32 = 0
let goodMatch: u32 = 0
let niceMatch: u32 = 0
let maxLazy: u32 = 0
let level: u32 = 0

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
  return (load<u32>(win + p) * 0x9e3779b1) >>> (32 - HBITS)
}

/** Inserts position `p` into its hash chain; returns the previous head. */
// @ts-ignore: decorator
@inline
function insert(p: u32): u32 {
  const h = <usize>hashAt(p) << 1
  const cand = <u32>load<u16>(head + h)
  store<u16>(prev + (<usize>((p + gbase) & PREV_MASK) << 1), <u16>cand)
  store<u16>(head + h, <u16>p)
  return cand
}

/** Inserts position `p` whose four bytes are `v`. */
// @ts-ignore: decorator
@inline
function insertWord(v: u32, p: u32): void {
  const h = <usize>((v * 0x9e3779b1) >>> (32 - HBITS)) << 1
  store<u16>(prev + (<usize>((p + gbase) & PREV_MASK) << 1), load<u16>(head + h))
  store<u16>(head + h, <u16>p)
}

/** Inserts every position in [from, end - 3): those whose four bytes are below `end`. */
function insertAll(from: u32, end: u32): void {
  let p = from
  // Four positions per 8-byte load.
  for (; p + 7 <= end; p += 4) {
    const v = load<u64>(win + p)
    insertWord(<u32>v, p)
    insertWord(<u32>(v >>> 8), p + 1)
    insertWord(<u32>(v >>> 16), p + 2)
    insertWord(<u32>(v >>> 24), p + 3)
  }
  for (; p + 4 <= end; p++) insert(p)
}

/** The lowest position a match from `p` may start at. */
// @ts-ignore: decorator
@inline
function lowest(p: u32): u32 {
  // Distances stay below the window size, so the chain ring never aliases.
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
    cur = <u32>load<u16>(prev + (<usize>((cur + gbase) & PREV_MASK) << 1))
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
    if (lookahead >= HASH_BYTES) cand = insert(strstart)
    let ml: u32 = 0
    if (cand != 0 && cand >= lowest(strstart)) ml = longestMatch(cand, MIN_MATCH - 1)
    if (ml >= MIN_MATCH) {
      tallyMatch(strstart - matchStart, ml)
      lookahead -= ml
      if (ml <= maxLazy && lookahead >= HASH_BYTES - 1) {
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
    if (lookahead >= HASH_BYTES) cand = insert(strstart)
    const prevLen = matchLen
    const prevMatch = matchStart
    matchLen = MIN_MATCH - 1
    if (cand != 0 && prevLen < maxLazy && cand >= lowest(strstart)) {
      matchLen = longestMatch(cand, prevLen)
      if (matchLen == MIN_MATCH && strstart - matchStart > TOO_FAR) matchLen = MIN_MATCH - 1
      if (matchLen <= prevLen) matchStart = prevMatch
    }
    if (prevLen >= MIN_MATCH && matchLen <= prevLen) {
      const maxInsert = strstart + lookahead - HASH_BYTES
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
  const hist = lv <= 3 ? HIST_FAST : HIST_LAZY
  const hcap = w < hist ? w : hist
  const size = D_HEADER + hcap
  const ctx = alloc(size)
  if (ctx == 0) return 0
  memory.fill(ctx, 0, D_HEADER)
  store<u32>(ctx + D_SIZE, size)
  store<u32>(ctx + D_WBITS, wb)
  store<u32>(ctx + D_LEVEL, lv)
  store<u32>(ctx + D_HCAP, hcap)
  return ctx
}

export function defFree(ctx: usize): void {
  // An unfinished push of `ctx` stays `owner`: the next push starts over.
  free(ctx, load<u32>(ctx + D_SIZE))
}

/**
 * Starts a push of `ctx`: its history goes into the shared window and the
 * hash chains. Every push starts here, and ends with a `defRun` whose
 * `flush` is not 0.
 */
export function defBegin(ctx: usize): void {
  const hlen = load<u32>(ctx + D_HLEN)
  level = load<u32>(ctx + D_LEVEL)
  goodMatch = load<u16>(CONFIG + (level << 3))
  maxLazy = load<u16>(CONFIG + (level << 3) + 2)
  niceMatch = load<u16>(CONFIG + (level << 3) + 4)
  maxChain = load<u16>(CONFIG + (level << 3) + 6)
  wsize = 1 << load<u32>(ctx + D_WBITS)
  bitBuf = <u64>load<u32>(ctx + D_BITBUF)
  bitCnt = load<u32>(ctx + D_BITCNT)
  lookahead = 0
  matchStart = 0
  matchLen = MIN_MATCH - 1
  matchAvail = 0
  // A push that did not end (an exception between calls) may have left chain
  // entries at or above gpos: start over then too.
  if (owner != 0 || gpos + hlen + MIN_ROOM > WIN_CAP) {
    memory.fill(head, 0, <usize>2 << HBITS)
    gpos = 1
  }
  owner = ctx
  minPos = gpos
  memory.copy(win + gpos, ctx + D_HEADER, hlen)
  strstart = gpos + hlen
  blockStart = strstart
  // Hash the history; its last three positions once the input is there.
  insertAll(gpos, strstart)
  pend = hlen != 0
}

/**
 * Makes room for input, sliding the window when it is mostly full, and
 * returns how many bytes the caller may write at `defIn()`: always
 * MIN_ROOM, so that blocks end at the same places wherever the push started.
 */
export function defPrepare(): u32 {
  const used = strstart + lookahead
  if (WIN_CAP - used < MIN_ROOM) {
    // Keep what matches may still refer to, and the block being built.
    let lo = strstart > wsize ? strstart - (wsize - 1) : 1
    if (lo < minPos) lo = minPos
    if (lo > blockStart) lo = blockStart
    if (lo > 1) {
      const by = lo - 1
      memory.copy(win + 1, win + lo, used - lo)
      strstart -= by
      blockStart -= by
      minPos = 1
      matchStart = matchStart > by ? matchStart - by : 0
      gbase += by
      // Rebase the chains: positions below `lo` (older pushes' included) become 0, the empty chain.
      const sub = i16x8.splat(<i16>by)
      const hend = head + (<usize>2 << HBITS)
      for (let p = head; p < hend; p += 16) v128.store(p, i16x8.sub_sat_u(v128.load(p), sub))
      const pe = prev + (<usize>2 << 15)
      for (let p = prev; p < pe; p += 16) v128.store(p, i16x8.sub_sat_u(v128.load(p), sub))
    }
  }
  return MIN_ROOM
}

/** Where the next input goes (valid after `defPrepare`). */
export function defIn(): usize {
  return win + strstart + lookahead
}

/**
 * Compresses `n` new bytes placed at `defIn()`. `flush`: 0 more input of
 * this push follows, 1 end of the push, 2 end of the message (sync flush, its
 * 00 00 FF FF tail left out), 3 end of the message and of the context's use
 * (no history kept). Returns the number of output bytes at `outPtr()`.
 */
export function defRun(n: u32, flush: u32): u32 {
  lookahead += n
  symP = symBuf
  outP = outBuf
  if (pend) {
    // The history's last three positions, now that their fourth byte is known.
    for (let p = strstart >= 3 ? strstart - 3 : 0; p < strstart; p++) {
      if (p >= minPos && p + 4 <= strstart + lookahead) insert(p)
    }
    pend = false
  }
  const more = flush == 0
  if (level <= 3) deflateFast(more)
  else deflateSlow(more)
  flushBlock(strstart - matchAvail)
  if (flush >= 2) {
    putBits(0, 3)
    alignByte()
  }
  flushBytes()
  if (!more) {
    // End of the push: keep the last bytes for the next one, and hand the window on.
    const ctx = owner
    let keep: u32 = 0
    if (flush != 3) {
      keep = strstart - minPos
      const hcap = load<u32>(ctx + D_HCAP)
      if (keep > hcap) keep = hcap
      memory.copy(ctx + D_HEADER, win + strstart - keep, keep)
    }
    store<u32>(ctx + D_HLEN, keep)
    store<u32>(ctx + D_BITBUF, <u32>bitBuf)
    store<u32>(ctx + D_BITCNT, bitCnt)
    gpos = strstart
    owner = 0
  }
  return <u32>(outP - outBuf)
}

/** The output of the last `defRun`. */
export function outPtr(): usize {
  return outBuf
}

initTables()
