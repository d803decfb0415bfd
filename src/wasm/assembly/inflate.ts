// RFC 1951 inflater for permessage-deflate. A context is one block of linear
// memory: a header, the code lengths of the current dynamic block, up to 512
// carried-over input bytes, and the last 2^windowBits bytes of output (all a
// peer may refer to; exactly that). Decoding tables and the output window
// are shared: JavaScript runs one push at a time. A context whose tables were
// overwritten by another context rebuilds them from its saved code lengths.
//
// Input may stop anywhere: every symbol (and every block header) starts at a
// checkpoint, and running out of input rolls back to it, keeping the bytes
// from there on for the next call. Output goes into the shared window, whose
// start continues the context's history; a push ends by moving the newest
// output into the history. A call stops when the window is full (the caller
// copies the output out, and the window slides) or before the message would
// exceed the caller's limit.

import { alloc, free, reserve } from "./mem"
import { io, outDesc } from "./io"
import { canonicalCodes, CL_ORDER, countLengths, DIST_BASE, DIST_EXTRA, LEN_BASE, LEN_EXTRA } from "./tables"

// Results of infRun / infContinue.
const NEED_INPUT: i32 = 0
const DONE: i32 = 1
const OUT_FULL: i32 = 2
const TOO_BIG: i32 = -1
const CORRUPT: i32 = -2
// Internal.
const OK: i32 = 10
const UNDER: i32 = 11
const STOP: i32 = 12
const EOB: i32 = 13

const M_HEADER: u32 = 0
const M_CODES: u32 = 1
const M_STORED: u32 = 2

// Context header fields (byte offsets).
const X_SIZE: usize = 0
const X_MODE: usize = 4
const X_MAXDIST: usize = 8
/** Bytes of history held (at most X_MAXDIST). */
const X_HLEN: usize = 12
/** Where the history ring is written next. */
const X_HEND: usize = 16
const X_STORED: usize = 20
const X_LEFTLEN: usize = 24
const X_LEFTSKIP: usize = 28
const X_FINAL: usize = 32
const X_LAST: usize = 36
const X_FIXED: usize = 40
const X_HLIT: usize = 44
const X_HDIST: usize = 48
const X_TABID: usize = 52
// A push interrupted by a full window (resumed by infContinue).
const X_IN: usize = 56
const X_INEND: usize = 60
const X_BB: usize = 64
const X_BC: usize = 72
const X_OP: usize = 76
const X_HAVAIL: usize = 80
const X_LENS: usize = 128 // 320 code lengths
const X_LEFT: usize = 448 // carried-over input
const LEFT_CAP: u32 = 512
const X_HIST: usize = 960

/** The largest window a peer may use. */
const MAX_DIST: u32 = 32768
/** Output of one call before the caller copies it out, past the history kept in front. */
const W_CAP: u32 = MAX_DIST + 98304
/** Slack after the window for copies that overshoot a match by up to 15 bytes. */
const W_SLACK: u32 = 64
const wbuf: usize = reserve(W_CAP + W_SLACK)

// Table entries: bits 0-3 bits consumed (whole code), 4-7 extra bits (or the
// subtable's index bits for a link), 8-10 kind, 16-31 value.
const K_LIT: u32 = 0
const K_LEN: u32 = 1
const K_EOB: u32 = 2
const K_LINK: u32 = 3
const K_BAD: u32 = 4

const LIT_ROOT: u32 = 10
const DIST_ROOT: u32 = 8
const CL_ROOT: u32 = 7
const LIT_CAP: u32 = 2048
const DIST_CAP: u32 = 1024

const litTab: usize = reserve(LIT_CAP << 2)
const distTab: usize = reserve(DIST_CAP << 2)
const clTab: usize = reserve(128 << 2)
const fixLit: usize = reserve(1 << (LIT_ROOT + 2))
const fixDist: usize = reserve(1 << (DIST_ROOT + 2))
const revs: usize = reserve(320 << 1)
const subBits: usize = reserve(1 << LIT_ROOT)
const counts: usize = reserve(16 << 1)
const nextCode: usize = reserve(16 << 1)
const clLens: usize = reserve(32)
const fixLens: usize = reserve(320)

/** Which context's dynamic tables are in litTab/distTab. */
let tableOwner: u32 = 0
let tableSerial: u32 = 0

// @ts-ignore: decorator
@inline
function entry(bits: u32, extra: u32, kind: u32, value: u32): u32 {
  return bits | (extra << 4) | (kind << 8) | (value << 16)
}

function symEntry(which: u32, s: u32, bits: u32): u32 {
  if (which == 0) return entry(bits, 0, K_LIT, s)
  if (which == 1) {
    if (s < 256) return entry(bits, 0, K_LIT, s)
    if (s == 256) return entry(bits, 0, K_EOB, 0)
    if (s < 286) return entry(bits, load<u8>(LEN_EXTRA + s - 257), K_LEN, load<u16>(LEN_BASE + ((s - 257) << 1)))
    return entry(bits, 0, K_BAD, 0)
  }
  if (s < 30) return entry(bits, load<u8>(DIST_EXTRA + s), K_LEN, load<u16>(DIST_BASE + (s << 1)))
  return entry(bits, 0, K_BAD, 0)
}

/**
 * Builds a two-level decoding table for the `n` code lengths at `lens`.
 * `which`: 0 code-length code, 1 literal/length, 2 distance. False when the
 * lengths are over-subscribed, or incomplete other than a single one-bit code
 * (the one incomplete set RFC 1951 producers emit), or overflow `cap`.
 */
function buildTable(lens: usize, n: u32, tab: usize, root: u32, cap: u32, which: u32): bool {
  countLengths(lens, n, counts)
  let left: i32 = 1
  let maxLen: u32 = 0
  for (let l: u32 = 1; l <= 15; l++) {
    left = (left << 1) - <i32>load<u16>(counts + (l << 1))
    if (left < 0) return false
    if (load<u16>(counts + (l << 1)) != 0) maxLen = l
  }
  const size: u32 = 1 << root
  if (maxLen == 0) {
    // No codes: only a distance code may be empty (a block of literals).
    if (which != 2) return false
    const bad = entry(root, 0, K_BAD, 0)
    for (let i: u32 = 0; i < size; i++) store<u32>(tab + (i << 2), bad)
    return true
  }
  if (left > 0 && (which == 0 || maxLen != 1)) return false
  canonicalCodes(lens, n, counts, nextCode, revs)
  const bad = entry(root, 0, K_BAD, 0)
  for (let i: u32 = 0; i < size; i++) store<u32>(tab + (i << 2), bad)
  for (let s: u32 = 0; s < n; s++) {
    const l = <u32>load<u8>(lens + s)
    if (l != 0 && l <= root) {
      const e = symEntry(which, s, l)
      const step: u32 = 1 << l
      for (let i = <u32>load<u16>(revs + (s << 1)); i < size; i += step) store<u32>(tab + (i << 2), e)
    }
  }
  if (maxLen <= root) return true
  memory.fill(subBits, 0, size)
  for (let s: u32 = 0; s < n; s++) {
    const l = <u32>load<u8>(lens + s)
    if (l > root) {
      const p = <u32>load<u16>(revs + (s << 1)) & (size - 1)
      if (l - root > <u32>load<u8>(subBits + p)) store<u8>(subBits + p, <u8>(l - root))
    }
  }
  let off: u32 = size
  for (let p: u32 = 0; p < size; p++) {
    const sb = <u32>load<u8>(subBits + p)
    if (sb != 0) {
      if (off + (1 << sb) > cap) return false
      store<u32>(tab + (p << 2), entry(0, sb, K_LINK, off))
      const sbad = entry(root + sb, 0, K_BAD, 0)
      for (let i: u32 = 0; i < (<u32>1 << sb); i++) store<u32>(tab + ((off + i) << 2), sbad)
      off += 1 << sb
    }
  }
  for (let s: u32 = 0; s < n; s++) {
    const l = <u32>load<u8>(lens + s)
    if (l > root) {
      const r = <u32>load<u16>(revs + (s << 1))
      const link = load<u32>(tab + ((r & (size - 1)) << 2))
      const o = link >>> 16
      const sb = (link >>> 4) & 15
      const e = symEntry(which, s, l)
      const step: u32 = 1 << (l - root)
      for (let i = r >>> root; i < (<u32>1 << sb); i += step) store<u32>(tab + ((o + i) << 2), e)
    }
  }
  return true
}

function initFixed(): void {
  for (let s: u32 = 0; s < 288; s++) {
    store<u8>(fixLens + s, s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8)
  }
  buildTable(fixLens, 288, fixLit, LIT_ROOT, 1 << LIT_ROOT, 1)
  memory.fill(fixLens, 5, 32)
  buildTable(fixLens, 32, fixDist, DIST_ROOT, 1 << DIST_ROOT, 2)
}
initFixed()

// Bit reader state of the running call. Bits of `bb` above `bc` are either
// zero or the next input bits, so OR-ing a refill over them is harmless.
let gIn: usize = 0
let gEnd: usize = 0
let gBB: u64 = 0
let gBC: u32 = 0

// @ts-ignore: decorator
@inline
function refill(): void {
  if (gIn + 8 <= gEnd) {
    gBB |= load<u64>(gIn) << gBC
    gIn += (63 - gBC) >>> 3
    gBC |= 56
  } else {
    while (gBC <= 56 && gIn < gEnd) {
      gBB |= (<u64>load<u8>(gIn)) << gBC
      gIn++
      gBC += 8
    }
  }
}

// @ts-ignore: decorator
@inline
function drop(n: u32): void {
  gBB >>= n
  gBC -= n
}

function readDynamic(ctx: usize): i32 {
  refill()
  if (gBC < 14) return UNDER
  const hlit = (<u32>gBB & 31) + 257
  const hdist = ((<u32>gBB >>> 5) & 31) + 1
  const hclen = ((<u32>gBB >>> 10) & 15) + 4
  drop(14)
  if (hlit > 286 || hdist > 30) return CORRUPT
  memory.fill(clLens, 0, 19)
  for (let i: u32 = 0; i < hclen; i++) {
    refill()
    if (gBC < 3) return UNDER
    store<u8>(clLens + load<u8>(CL_ORDER + i), <u8>(<u32>gBB & 7))
    drop(3)
  }
  if (!buildTable(clLens, 19, clTab, CL_ROOT, 128, 0)) return CORRUPT
  const lens = ctx + X_LENS
  const total = hlit + hdist
  let i: u32 = 0
  while (i < total) {
    refill()
    const e = load<u32>(clTab + ((<usize>gBB & 127) << 2))
    const nb = e & 15
    if (nb > gBC) return UNDER
    if (((e >>> 8) & 7) == K_BAD) return CORRUPT
    const sym = e >>> 16
    if (sym < 16) {
      drop(nb)
      store<u8>(lens + i, <u8>sym)
      i++
      continue
    }
    let rep: u32
    let v: u8 = 0
    if (sym == 16) {
      if (nb + 2 > gBC) return UNDER
      if (i == 0) return CORRUPT
      rep = 3 + ((<u32>(gBB >>> nb)) & 3)
      v = load<u8>(lens + i - 1)
      drop(nb + 2)
    } else if (sym == 17) {
      if (nb + 3 > gBC) return UNDER
      rep = 3 + ((<u32>(gBB >>> nb)) & 7)
      drop(nb + 3)
    } else {
      if (nb + 7 > gBC) return UNDER
      rep = 11 + ((<u32>(gBB >>> nb)) & 127)
      drop(nb + 7)
    }
    if (i + rep > total) return CORRUPT
    memory.fill(lens + i, v, rep)
    i += rep
  }
  if (load<u8>(lens + 256) == 0) return CORRUPT
  if (!buildTable(lens, hlit, litTab, LIT_ROOT, LIT_CAP, 1)) return CORRUPT
  if (!buildTable(lens + hlit, hdist, distTab, DIST_ROOT, DIST_CAP, 2)) return CORRUPT
  store<u32>(ctx + X_HLIT, hlit)
  store<u32>(ctx + X_HDIST, hdist)
  tableOwner = ++tableSerial
  store<u32>(ctx + X_TABID, tableOwner)
  return OK
}

function readHeader(ctx: usize): i32 {
  refill()
  if (gBC < 3) return UNDER
  const last = <u32>gBB & 1
  const type = (<u32>gBB >>> 1) & 3
  drop(3)
  store<u32>(ctx + X_LAST, last)
  if (type == 0) {
    drop(gBC & 7)
    refill()
    if (gBC < 32) return UNDER
    const len = <u32>gBB & 0xffff
    const nlen = (<u32>gBB >>> 16) & 0xffff
    drop(32)
    if (len != (~nlen & 0xffff)) return CORRUPT
    // Give back the whole bytes already pulled into the bit buffer.
    gIn -= gBC >>> 3
    gBB = 0
    gBC = 0
    store<u32>(ctx + X_STORED, len)
    store<u32>(ctx + X_MODE, M_STORED)
    return OK
  }
  if (type == 1) {
    store<u32>(ctx + X_FIXED, 1)
    store<u32>(ctx + X_MODE, M_CODES)
    return OK
  }
  if (type == 2) {
    const r = readDynamic(ctx)
    if (r != OK) return r
    store<u32>(ctx + X_FIXED, 0)
    store<u32>(ctx + X_MODE, M_CODES)
    return OK
  }
  return CORRUPT
}

// Output bookkeeping of the running call: output goes to wbuf[op]; the
// `gHAvail` history bytes of the context come right before wbuf[0].
let gOp: u32 = 0
let gStop: u32 = 0
let gMaxDist: u32 = 0
let gHAvail: u32 = 0
let gHist: usize = 0
let gHEnd: u32 = 0

/** Copies `len` bytes from `d` back to wbuf[op], all of them within the window (d <= op). */
// @ts-ignore: decorator
@inline
function copyWithin(op: u32, d: u32, len: u32): void {
  const t = wbuf + op
  const f = t - d
  // Copies may run up to 15 bytes past the match: those bytes are not output yet.
  if (d >= 16) {
    for (let i: u32 = 0; i < len; i += 16) v128.store(t + i, v128.load(f + i))
  } else if (d >= 8) {
    for (let i: u32 = 0; i < len; i += 8) store<u64>(t + i, load<u64>(f + i))
  } else if (d == 1) {
    const v = i8x16.splat(load<i8>(f))
    for (let i: u32 = 0; i < len; i += 16) v128.store(t + i, v)
  } else {
    for (let i: u32 = 0; i < len; i++) store<u8>(t + i, load<u8>(f + i))
  }
}

/** Copies a match that starts in the history (d > op), and goes on into the window if it is longer. */
// @ts-ignore: decorator
@inline
function copyFromHistory(op: u32, d: u32, len: u32): void {
  const k = d - op
  const m = len < k ? len : k
  const from = (gHEnd - k) & (gMaxDist - 1)
  const t = wbuf + op
  const f = gHist + from
  // Reads may run up to 15 bytes past the ring (alloc leaves room after every
  // block); writes past `m` are overwritten below or are not output yet.
  const first = from + m <= gMaxDist ? m : gMaxDist - from
  for (let i: u32 = 0; i < first; i += 16) v128.store(t + i, v128.load(f + i))
  // The rest when the ring wraps inside the match.
  if (first < m) memory.copy(t + first, gHist, m - first)
  if (m < len) copyWithin(op + m, d, len - m)
}

/** Decodes one Huffman-coded block until its end, a stop or an error. */
function codes(lit: usize, dist: usize): i32 {
  let inp = gIn
  const end = gEnd
  let bb = gBB
  let bc = gBC
  let op = gOp
  const stop = gStop
  const maxDist = gMaxDist
  const hAvail = gHAvail
  let r: i32 = OK
  for (;;) {
    // Fast loop: with 16 input bytes and room for a longest match ahead, one
    // refill covers a whole symbol and nothing needs checking but the data.
    while (inp + 16 <= end && stop - op >= 258) {
      bb |= load<u64>(inp) << bc
      inp += (63 - bc) >>> 3
      bc |= 56
      let e = load<u32>(lit + ((<usize>bb & ((1 << LIT_ROOT) - 1)) << 2))
      if (((e >>> 8) & 7) == K_LINK) {
        const sub = (<u32>(bb >>> LIT_ROOT)) & ((<u32>1 << ((e >>> 4) & 15)) - 1)
        e = load<u32>(lit + (<usize>((e >>> 16) + sub) << 2))
      }
      let n = e & 15
      let kind = (e >>> 8) & 7
      if (kind == K_LIT) {
        bb >>= n
        bc -= n
        store<u8>(wbuf + op, <u8>(e >>> 16))
        op++
        continue
      }
      if (kind != K_LEN) break // end of block or invalid: the careful path decides
      let eb = (e >>> 4) & 15
      const len = (e >>> 16) + ((<u32>(bb >>> n)) & ((<u32>1 << eb) - 1))
      const cBB = bb
      const cBC = bc
      bb >>= n + eb
      bc -= n + eb
      e = load<u32>(dist + ((<usize>bb & ((1 << DIST_ROOT) - 1)) << 2))
      if (((e >>> 8) & 7) == K_LINK) {
        const sub = (<u32>(bb >>> DIST_ROOT)) & ((<u32>1 << ((e >>> 4) & 15)) - 1)
        e = load<u32>(dist + (<usize>((e >>> 16) + sub) << 2))
      }
      n = e & 15
      eb = (e >>> 4) & 15
      const d = (e >>> 16) + ((<u32>(bb >>> n)) & ((<u32>1 << eb) - 1))
      if (((e >>> 8) & 7) != K_LEN || d > maxDist || d > op + hAvail) {
        // Undo the length so that the careful path sees the whole symbol.
        bb = cBB
        bc = cBC
        break
      }
      bb >>= n + eb
      bc -= n + eb
      if (d <= op) copyWithin(op, d, len)
      else copyFromHistory(op, d, len)
      op += len
    }
    // Careful path: one symbol, every step checked.
    const cIn = inp
    const cBB = bb
    const cBC = bc
    if (inp + 8 <= end) {
      bb |= load<u64>(inp) << bc
      inp += (63 - bc) >>> 3
      bc |= 56
    } else {
      while (bc <= 56 && inp < end) {
        bb |= (<u64>load<u8>(inp)) << bc
        inp++
        bc += 8
      }
    }
    let e = load<u32>(lit + ((<usize>bb & ((1 << LIT_ROOT) - 1)) << 2))
    if (((e >>> 8) & 7) == K_LINK) {
      const sub = (<u32>(bb >>> LIT_ROOT)) & ((<u32>1 << ((e >>> 4) & 15)) - 1)
      e = load<u32>(lit + (<usize>((e >>> 16) + sub) << 2))
    }
    let n = e & 15
    if (n > bc) {
      r = UNDER
      inp = cIn
      bb = cBB
      bc = cBC
      break
    }
    let kind = (e >>> 8) & 7
    if (kind == K_LIT) {
      if (op == stop) {
        r = STOP
        inp = cIn
        bb = cBB
        bc = cBC
        break
      }
      store<u8>(wbuf + op, <u8>(e >>> 16))
      op++
      bb >>= n
      bc -= n
      continue
    }
    if (kind == K_EOB) {
      bb >>= n
      bc -= n
      r = EOB
      break
    }
    if (kind != K_LEN) {
      r = CORRUPT
      break
    }
    let eb = (e >>> 4) & 15
    if (n + eb > bc) {
      r = UNDER
      inp = cIn
      bb = cBB
      bc = cBC
      break
    }
    const len = (e >>> 16) + ((<u32>(bb >>> n)) & ((<u32>1 << eb) - 1))
    bb >>= n + eb
    bc -= n + eb
    if (inp + 8 <= end) {
      bb |= load<u64>(inp) << bc
      inp += (63 - bc) >>> 3
      bc |= 56
    } else {
      while (bc <= 56 && inp < end) {
        bb |= (<u64>load<u8>(inp)) << bc
        inp++
        bc += 8
      }
    }
    e = load<u32>(dist + ((<usize>bb & ((1 << DIST_ROOT) - 1)) << 2))
    if (((e >>> 8) & 7) == K_LINK) {
      const sub = (<u32>(bb >>> DIST_ROOT)) & ((<u32>1 << ((e >>> 4) & 15)) - 1)
      e = load<u32>(dist + (<usize>((e >>> 16) + sub) << 2))
    }
    n = e & 15
    eb = (e >>> 4) & 15
    kind = (e >>> 8) & 7
    if (n + (kind == K_LEN ? eb : 0) > bc) {
      r = UNDER
      inp = cIn
      bb = cBB
      bc = cBC
      break
    }
    if (kind != K_LEN) {
      r = CORRUPT
      break
    }
    const d = (e >>> 16) + ((<u32>(bb >>> n)) & ((<u32>1 << eb) - 1))
    if (d > maxDist || d > op + hAvail) {
      r = CORRUPT
      break
    }
    if (len > stop - op) {
      r = STOP
      inp = cIn
      bb = cBB
      bc = cBC
      break
    }
    bb >>= n + eb
    bc -= n + eb
    if (d <= op) copyWithin(op, d, len)
    else copyFromHistory(op, d, len)
    op += len
  }
  gIn = inp
  gBB = bb
  gBC = bc
  gOp = op
  return r
}

/** Copies stored-block bytes; OK at the block's end. */
function stored(ctx: usize): i32 {
  let remaining = load<u32>(ctx + X_STORED)
  let r: i32 = OK
  while (remaining != 0) {
    const avail = <u32>(gEnd - gIn)
    if (avail == 0) {
      r = UNDER
      break
    }
    const room = gStop - gOp
    if (room == 0) {
      r = STOP
      break
    }
    let k = remaining
    if (k > avail) k = avail
    if (k > room) k = room
    memory.copy(wbuf + gOp, gIn, k)
    gIn += k
    gOp += k
    remaining -= k
  }
  store<u32>(ctx + X_STORED, remaining)
  return r
}

/** Runs from window position `op0`, after `hAvail` bytes of history. */
function run(ctx: usize, op0: u32, hAvail: u32, limitLeft: u32): i32 {
  gMaxDist = load<u32>(ctx + X_MAXDIST)
  gHist = ctx + X_HIST
  gHEnd = load<u32>(ctx + X_HEND)
  gHAvail = hAvail
  gOp = op0
  const room = W_CAP - op0
  const stopIsLimit = limitLeft <= room
  gStop = op0 + (stopIsLimit ? limitLeft : room)
  const final = load<u32>(ctx + X_FINAL)
  let st: i32 = NEED_INPUT
  for (;;) {
    const mode = load<u32>(ctx + X_MODE)
    if (mode == M_HEADER) {
      const remaining = gBC + ((<u32>(gEnd - gIn)) << 3)
      if (remaining == 0) {
        st = final != 0 ? DONE : NEED_INPUT
        break
      }
      if (final != 0 && remaining == 32 && load<u32>(ctx + X_LAST) != 0) {
        // RFC 7692 §7.2.3.4: a final block may end a message; then only our
        // appended 00 00 FF FF is left, and the message is done.
        gIn = gEnd
        gBB = 0
        gBC = 0
        st = DONE
        break
      }
      const cIn = gIn
      const cBB = gBB
      const cBC = gBC
      const r = readHeader(ctx)
      if (r == UNDER) {
        gIn = cIn
        gBB = cBB
        gBC = cBC
        st = final != 0 ? CORRUPT : NEED_INPUT
        break
      }
      if (r != OK) {
        st = CORRUPT
        break
      }
      continue
    }
    let r: i32
    if (mode == M_STORED) {
      r = stored(ctx)
    } else if (load<u32>(ctx + X_FIXED) != 0) {
      r = codes(fixLit, fixDist)
    } else {
      if (load<u32>(ctx + X_TABID) != tableOwner) {
        // Another context used the shared tables since: rebuild ours.
        const hlit = load<u32>(ctx + X_HLIT)
        buildTable(ctx + X_LENS, hlit, litTab, LIT_ROOT, LIT_CAP, 1)
        buildTable(ctx + X_LENS + hlit, load<u32>(ctx + X_HDIST), distTab, DIST_ROOT, DIST_CAP, 2)
        tableOwner = ++tableSerial
        store<u32>(ctx + X_TABID, tableOwner)
      }
      r = codes(litTab, distTab)
    }
    if (r == UNDER) {
      st = final != 0 ? CORRUPT : NEED_INPUT
      break
    }
    if (r == STOP) {
      st = stopIsLimit ? TOO_BIG : OUT_FULL
      break
    }
    if (r == CORRUPT) {
      st = CORRUPT
      break
    }
    // End of block. Blocks may follow a final one, from the next byte on
    // (RFC 7692 §7.2.3.4).
    store<u32>(ctx + X_MODE, M_HEADER)
    if (load<u32>(ctx + X_LAST) != 0) drop(gBC & 7)
  }
  // Hand the new output to the caller.
  store<u32>(outDesc, <u32>(wbuf + op0))
  store<u32>(outDesc + 4, gOp - op0)
  if (st == OUT_FULL) {
    store<u32>(ctx + X_OP, gOp)
    store<u32>(ctx + X_HAVAIL, gHAvail)
  } else if (st == NEED_INPUT || (st == DONE && final == 1)) {
    keepHistory(ctx, gOp)
  }
  if (st == NEED_INPUT) {
    // Keep the unconsumed bits for the next call.
    const bitPos = ((<u32>(gIn - io)) << 3) - gBC
    const left = <u32>(gEnd - io) - (bitPos >>> 3)
    if (left > LEFT_CAP) return CORRUPT
    memory.copy(ctx + X_LEFT, io + (bitPos >>> 3), left)
    store<u32>(ctx + X_LEFTLEN, left)
    store<u32>(ctx + X_LEFTSKIP, bitPos & 7)
  } else {
    store<u32>(ctx + X_IN, <u32>gIn)
    store<u32>(ctx + X_INEND, <u32>gEnd)
    store<u64>(ctx + X_BB, gBB)
    store<u32>(ctx + X_BC, gBC)
    if (st == DONE) {
      store<u32>(ctx + X_LEFTLEN, 0)
      store<u32>(ctx + X_LEFTSKIP, 0)
    }
  }
  return st
}

/** Moves the end of the window's `n` bytes (which continue the history) into the history ring. */
function keepHistory(ctx: usize, n: u32): void {
  const size = load<u32>(ctx + X_MAXDIST)
  const ring = ctx + X_HIST
  if (n >= size) {
    memory.copy(ring, wbuf + n - size, size)
    store<u32>(ctx + X_HEND, 0)
    store<u32>(ctx + X_HLEN, size)
    return
  }
  const end = load<u32>(ctx + X_HEND)
  const first = n <= size - end ? n : size - end
  memory.copy(ring + end, wbuf, first)
  memory.copy(ring, wbuf + first, n - first)
  store<u32>(ctx + X_HEND, (end + n) & (size - 1))
  const hlen = load<u32>(ctx + X_HLEN) + n
  store<u32>(ctx + X_HLEN, hlen < size ? hlen : size)
}

/** A new inflater for a peer window of 2^windowBits (8 taken as 9); 0 when out of memory. */
export function infNew(windowBits: u32): usize {
  // zlib cannot compress with 8 bits and uses 9 when asked for 8.
  const wb = windowBits < 9 ? 9 : windowBits > 15 ? 15 : windowBits
  const size = <u32>X_HIST + (<u32>1 << wb)
  const ctx = alloc(size)
  if (ctx == 0) return 0
  memory.fill(ctx, 0, X_LENS)
  store<u32>(ctx + X_SIZE, size)
  store<u32>(ctx + X_MAXDIST, <u32>1 << wb)
  return ctx
}

export function infFree(ctx: usize): void {
  free(ctx, load<u32>(ctx + X_SIZE))
}

/** Moves carried-over input to the I/O region; new input goes at the returned address. */
export function infInput(ctx: usize): usize {
  const left = load<u32>(ctx + X_LEFTLEN)
  memory.copy(io, ctx + X_LEFT, left)
  return io + left
}

/**
 * Inflates the carried-over input plus `n` new bytes. `final`: 0 more of
 * the message follows, 1 this is the rest of the message (tail included), 2
 * the same and the history is not needed afterwards (no context takeover).
 * Produces at most `limitLeft` bytes; the output is described at `outDesc`.
 */
export function infRun(ctx: usize, n: u32, final: u32, limitLeft: u32): i32 {
  const left = load<u32>(ctx + X_LEFTLEN)
  const skip = load<u32>(ctx + X_LEFTSKIP)
  store<u32>(ctx + X_LEFTLEN, 0)
  store<u32>(ctx + X_LEFTSKIP, 0)
  store<u32>(ctx + X_FINAL, final)
  gIn = io
  gEnd = io + left + n
  gBB = 0
  gBC = 0
  if (skip != 0) {
    refill()
    drop(skip)
  }
  return run(ctx, 0, load<u32>(ctx + X_HLEN), limitLeft)
}

/** Resumes after OUT_FULL, once the caller has copied the output out. */
export function infContinue(ctx: usize, limitLeft: u32): i32 {
  gIn = <usize>load<u32>(ctx + X_IN)
  gEnd = <usize>load<u32>(ctx + X_INEND)
  gBB = load<u64>(ctx + X_BB)
  gBC = load<u32>(ctx + X_BC)
  // Slide: keep the window's last 2^windowBits bytes, all that matches may
  // still refer to; the history before them is out of reach from now on.
  const op = load<u32>(ctx + X_OP)
  const maxDist = load<u32>(ctx + X_MAXDIST)
  let hAvail = load<u32>(ctx + X_HAVAIL)
  let keep = op
  if (op > maxDist) {
    keep = maxDist
    memory.copy(wbuf, wbuf + op - keep, keep)
    hAvail = 0
  }
  return run(ctx, keep, hAvail, limitLeft)
}
