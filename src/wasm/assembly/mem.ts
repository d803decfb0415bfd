// Linear memory: static data, then scratch regions reserved at start-up,
// then per-connection contexts handed out by `alloc` and recycled by `free`.
// Memory never shrinks; freed blocks go to a free list for their exact size,
// so a steady number of live contexts keeps memory.size() constant.

let top: usize = (__heap_base + 63) & ~(<usize>63)

/** Bytes after the last block that stay addressable. */
const TAIL: usize = 64

/** Grows the memory so that [0, end) is addressable; false when it cannot. */
function ensure(end: usize): bool {
  const have = (<usize>memory.size()) << 16
  if (end <= have) return true
  const pages = <i32>((end - have + 0xffff) >>> 16)
  return memory.grow(pages) >= 0
}

/** A region that lives as long as the instance (scratch buffers, tables). */
export function reserve(n: usize): usize {
  const p = top
  const end = (p + n + 63) & ~(<usize>63)
  if (!ensure(end)) unreachable()
  top = end
  return p
}

// Free lists, one per exact block size (a handful of sizes occur: one per
// window size and context kind).
const MAX_CLASSES: i32 = 64
const classSize = memory.data(MAX_CLASSES * 4, 16)
const classHead = memory.data(MAX_CLASSES * 4, 16)
let classes: i32 = 0

function classOf(size: u32): i32 {
  for (let i = 0; i < classes; i++) {
    if (load<u32>(classSize + (<usize>i << 2)) == size) return i
  }
  if (classes == MAX_CLASSES) return -1
  const i = classes++
  store<u32>(classSize + (<usize>i << 2), size)
  store<u32>(classHead + (<usize>i << 2), 0)
  return i
}

/** Rounds a request to the granularity blocks are kept at. */
export function blockSize(n: u32): u32 {
  return (n + 63) & ~(<u32>63)
}

/** A block of `blockSize(n)` bytes, 64-byte aligned, not zeroed; 0 when out of memory. */
export function alloc(n: u32): usize {
  const size = blockSize(n)
  const c = classOf(size)
  if (c >= 0) {
    const h = load<u32>(classHead + (<usize>c << 2))
    if (h != 0) {
      store<u32>(classHead + (<usize>c << 2), load<u32>(<usize>h))
      return <usize>h
    }
  }
  const p = top
  // TAIL bytes stay addressable after every block, for word-sized reads past its end.
  if (!ensure(p + size + TAIL)) return 0
  top = p + size
  return p
}

/** Returns a block obtained from `alloc(n)`. */
export function free(p: usize, n: u32): void {
  const c = classOf(blockSize(n))
  if (c < 0) return // more sizes than classes: the block is leaked, never reused wrongly
  store<u32>(p, load<u32>(classHead + (<usize>c << 2)))
  store<u32>(classHead + (<usize>c << 2), <u32>p)
}

/** The first address above every block handed out so far (for tests). */
export function heapTop(): usize {
  return top
}
