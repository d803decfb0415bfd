/** The parts one after another, in a new array. */
export const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => new Uint8Array(Buffer.concat(parts))

/**
 * `data` cut at `cuts`, in order, duplicates merged. Each cut is taken modulo
 * the length (modulo length + 1 with `atEnd`, so a cut may also fall at the
 * very end). Empty pieces are kept unless `empty` is false.
 */
export const splitAt = (
  data: Uint8Array,
  cuts: ReadonlyArray<number>,
  options: { readonly atEnd?: boolean; readonly empty?: boolean } = {}
): Array<Uint8Array> => {
  const range = options.atEnd === true ? data.length + 1 : data.length
  const points = [...new Set(cuts.map((c) => (range === 0 ? 0 : c % range)))].sort((a, b) => a - b)
  const keepEmpty = options.empty !== false
  const out: Array<Uint8Array> = []
  let at = 0
  for (const p of points) {
    if (p > at || keepEmpty) {
      out.push(data.subarray(at, p))
      at = p
    }
  }
  out.push(data.subarray(at))
  return out
}
