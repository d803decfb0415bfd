/**
 * Shell-style matching with the rules of Go's `path.Match`, which
 * coder/websocket applies to origin patterns:
 *
 * - `*` matches any run of characters other than `/` (including none);
 * - `?` matches one character other than `/`;
 * - `[...]` matches one character in the class: single characters and
 *   `lo-hi` ranges, negated by a leading `^`; `\` escapes the next character;
 * - `\c` outside a class matches `c`; every other character matches itself.
 *
 * A malformed pattern (unterminated or empty class, `-` or `]` where a class
 * character is expected, trailing `\`) never matches. Characters are Unicode
 * code points.
 *
 * @internal
 */

const STAR = 0
const ANY = 1
const LITERAL = 2
const CLASS = 3

export type Token =
  | { readonly kind: typeof STAR }
  | { readonly kind: typeof ANY }
  | { readonly kind: typeof LITERAL; readonly cp: number }
  | { readonly kind: typeof CLASS; readonly negated: boolean; readonly ranges: ReadonlyArray<number> }

const SLASH = 0x2f
const BACKSLASH = 0x5c
const DASH = 0x2d
const CLOSE = 0x5d

const codePoints = (s: string): Array<number> => {
  const out: Array<number> = []
  for (const ch of s) out.push(ch.codePointAt(0) as number)
  return out
}

/** The tokens of `pattern`, or undefined when it is malformed. */
export const compile = (pattern: string): ReadonlyArray<Token> | undefined => {
  const p = codePoints(pattern)
  const n = p.length
  const tokens: Array<Token> = []
  let i = 0
  // One class character, possibly escaped; like Go, it must not end the pattern.
  const classChar = (): number | undefined => {
    if (i >= n || p[i] === DASH || p[i] === CLOSE) return undefined
    if (p[i] === BACKSLASH) {
      i++
      if (i >= n) return undefined
    }
    const c = p[i++] as number
    return i < n ? c : undefined
  }
  while (i < n) {
    const c = p[i] as number
    if (c === 0x2a) {
      if (tokens.length === 0 || (tokens[tokens.length - 1] as Token).kind !== STAR) tokens.push({ kind: STAR })
      i++
    } else if (c === 0x3f) {
      tokens.push({ kind: ANY })
      i++
    } else if (c === BACKSLASH) {
      if (i + 1 >= n) return undefined
      tokens.push({ kind: LITERAL, cp: p[i + 1] as number })
      i += 2
    } else if (c === 0x5b) {
      i++
      let negated = false
      if (i < n && p[i] === 0x5e) {
        negated = true
        i++
      }
      const ranges: Array<number> = []
      for (;;) {
        if (i < n && p[i] === CLOSE && ranges.length > 0) {
          i++
          break
        }
        const lo = classChar()
        if (lo === undefined) return undefined
        let hi = lo
        if (p[i] === DASH) {
          i++
          const h = classChar()
          if (h === undefined) return undefined
          hi = h
        }
        ranges.push(lo, hi)
      }
      tokens.push({ kind: CLASS, negated, ranges })
    } else {
      tokens.push({ kind: LITERAL, cp: c })
      i++
    }
  }
  return tokens
}

const matchOne = (t: Token, c: number): boolean => {
  switch (t.kind) {
    case ANY:
      return c !== SLASH
    case LITERAL:
      return c === t.cp
    case CLASS: {
      let inClass = false
      for (let k = 0; k < t.ranges.length; k += 2) {
        if ((t.ranges[k] as number) <= c && c <= (t.ranges[k + 1] as number)) {
          inClass = true
          break
        }
      }
      return inClass !== t.negated
    }
    default:
      return false
  }
}

/** Whether `pattern` is well-formed. */
export const isValid = (pattern: string): boolean => compile(pattern) !== undefined

/** Whether `name` matches all of `pattern` (false when it is malformed). */
export const match = (pattern: string, name: string): boolean => {
  const tokens = compile(pattern)
  return tokens !== undefined && matchTokens(tokens, name)
}

/**
 * Whether `name` matches all of a compiled pattern. Simulates the pattern as
 * an NFA over positions of `name`, so there is no exponential backtracking.
 */
export const matchTokens = (tokens: ReadonlyArray<Token>, name: string): boolean => {
  const s = codePoints(name)
  const m = s.length
  let cur = new Uint8Array(m + 1)
  let next = new Uint8Array(m + 1)
  cur[0] = 1
  for (const t of tokens) {
    next.fill(0)
    let any = false
    if (t.kind === STAR) {
      let reach = false
      for (let j = 0; j <= m; j++) {
        if (cur[j] === 1) reach = true
        if (reach) {
          next[j] = 1
          any = true
        }
        if (j < m && s[j] === SLASH) reach = false
      }
    } else {
      for (let j = 0; j < m; j++) {
        if (cur[j] === 1 && matchOne(t, s[j] as number)) {
          next[j + 1] = 1
          any = true
        }
      }
    }
    if (!any) return false
    const swap = cur
    cur = next
    next = swap
  }
  return cur[m] === 1
}
