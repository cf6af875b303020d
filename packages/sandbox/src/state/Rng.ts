/**
 * Seeded PRNG streams (sandbox.md §3.5): every draw comes from a generator keyed by
 * `hash(seed, subsystem, key)`, so adding a guest or a fault rule shifts no other stream.
 */

/** A deterministic stream of pseudo-random numbers. */
export interface Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number
  /** Uniform integer in [min, max] (inclusive). */
  readonly int: (min: number, max: number) => number
  /** One element of a non-empty array. */
  readonly pick: <A>(items: ReadonlyArray<A>) => A
  /** True with probability p. */
  readonly chance: (p: number) => boolean
  /** Lower-case hex string of n characters. */
  readonly hex: (n: number) => string
  /** A fresh UUID v4 string. */
  readonly uuid: () => string
  /** Fisher–Yates shuffled copy. */
  readonly shuffle: <A>(items: ReadonlyArray<A>) => Array<A>
}

/** 32-bit FNV-1a over a string; the stream key hash. */
export const hash32 = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** A stream seeded by `(seed, subsystem, key)`; same inputs give the same sequence. */
export const makeRng = (seed: number | string, subsystem: string, key: string | number = ""): Rng => {
  // sfc32 seeded from four independent FNV hashes
  const base = `${seed}\u0000${subsystem}\u0000${key}`
  let a = hash32(base + "a")
  let b = hash32(base + "b")
  let c = hash32(base + "c")
  let d = hash32(base + "d")
  const next = (): number => {
    a >>>= 0
    b >>>= 0
    c >>>= 0
    d >>>= 0
    let t = (a + b) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    d = (d + 1) | 0
    t = (t + d) | 0
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  for (let i = 0; i < 12; i++) next()
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  const hex = (n: number) => {
    let out = ""
    for (let i = 0; i < n; i++) out += "0123456789abcdef"[Math.floor(next() * 16)]
    return out
  }
  return {
    next,
    int,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    chance: (p) => next() < p,
    hex,
    uuid: () => {
      const h = hex(32)
      const variant = "89ab"[Math.floor(next() * 4)]
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
    },
    shuffle: (items) => {
      const out = items.slice()
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1))
        const tmp = out[i]!
        out[i] = out[j]!
        out[j] = tmp
      }
      return out
    }
  }
}
