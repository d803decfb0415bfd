// RFC 6455 §5.3 masking on linear memory, 64 bytes per iteration with v128.

/**
 * XORs [p, p+n) in place. `key` is the 4 wire bytes read as a little-endian
 * uint32 and `pos` the key byte that applies to the first byte.
 */
export function mask(p: usize, n: usize, key: u32, pos: u32): void {
  let k = rotr<u32>(key, (pos & 3) << 3)
  const end = p + n
  const kv = i32x4.splat(<i32>k)
  while (p + 64 <= end) {
    v128.store(p, v128.xor(v128.load(p), kv))
    v128.store(p, v128.xor(v128.load(p, 16), kv), 16)
    v128.store(p, v128.xor(v128.load(p, 32), kv), 32)
    v128.store(p, v128.xor(v128.load(p, 48), kv), 48)
    p += 64
  }
  while (p + 16 <= end) {
    v128.store(p, v128.xor(v128.load(p), kv))
    p += 16
  }
  while (p + 4 <= end) {
    store<u32>(p, load<u32>(p) ^ k)
    p += 4
  }
  while (p < end) {
    store<u8>(p, load<u8>(p) ^ <u8>k)
    k = rotr<u32>(k, 8)
    p++
  }
}
