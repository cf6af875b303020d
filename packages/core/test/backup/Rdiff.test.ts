import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as fc from "fast-check"
import { sha256 } from "@homelab-mcp/core/backup/Hash"
import * as Rdiff from "@homelab-mcp/core/backup/Rdiff"

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"))
const roundTrip = (base: Uint8Array, result: Uint8Array) => {
  const delta = Option.getOrThrow(Rdiff.make(base, result))
  const decoded = Either.getOrThrow(Rdiff.decode(Rdiff.encode(delta)))
  return Either.getOrThrow(Rdiff.apply(decoded, base))
}

describe("Rdiff", () => {
  it("splits after each newline, keeping terminators and a final unterminated line", () => {
    const lines = Rdiff.splitLines(bytes("a\r\nb\n\nc")).map((l) => Buffer.from(l).toString("latin1"))
    expect(lines).toEqual(["a\r\n", "b\n", "\n", "c"])
    expect(Rdiff.splitLines(new Uint8Array(0))).toEqual([])
  })

  it("writes the documented document shape", () => {
    const base = bytes("one\ntwo\nthree\n")
    const result = bytes("one\nTWO\nthree\n")
    const delta = Option.getOrThrow(Rdiff.make(base, result))
    expect(delta).toEqual({
      format: "homelab-mcp-rdiff",
      version: 1,
      base: sha256(base),
      result: sha256(result),
      ops: [{ keep: 1 }, { skip: 1 }, { insert: [Buffer.from("TWO\n").toString("base64")] }, { keep: 1 }]
    })
    expect(JSON.parse(Buffer.from(Rdiff.encode(delta)).toString("utf8")).format).toBe("homelab-mcp-rdiff")
  })

  it("is byte-exact for CRLF, a missing final newline and non-UTF-8 bytes", () => {
    const cases: Array<[string, string]> = [
      ["a\r\nb\r\nc\r\n", "a\r\nB\r\nc"],
      ["x\ny", "x\ny\n"],
      ["caf\xe9\n\xff\xfe\n", "caf\xe9\nplain\n"],
      ["", "now\nthere\n"],
      ["gone\n", ""]
    ]
    for (const [before, after] of cases) {
      // the delta rebuilds the previous content (before) from the new content (after)
      expect(Buffer.from(roundTrip(bytes(after), bytes(before))).toString("latin1")).toBe(before)
    }
  })

  it("refuses a wrong base, a tampered op list and a wrong result", () => {
    const base = bytes("a\nb\n")
    const delta = Option.getOrThrow(Rdiff.make(base, bytes("a\nc\n")))
    expect(Either.isLeft(Rdiff.apply(delta, bytes("a\nx\n")))).toBe(true)
    expect(Rdiff.apply({ ...delta, ops: [{ keep: 5 }] }, base)).toEqual(Either.left("delta keeps past the end of its base"))
    expect(Rdiff.apply({ ...delta, ops: [{ skip: 9 }] }, base)).toEqual(Either.left("delta skips past the end of its base"))
    expect(Rdiff.apply({ ...delta, ops: [{ keep: 1 }] }, base)).toEqual(Either.left("delta does not consume its whole base"))
    const wrongResult = Rdiff.apply({ ...delta, result: sha256("other") }, base)
    expect(Either.isLeft(wrongResult) && wrongResult.left).toMatch(/result mismatch/)
    expect(Either.isLeft(Rdiff.decode(bytes("{\"format\":\"other\"}")))).toBe(true)
    expect(Either.isLeft(Rdiff.decode(bytes("not json")))).toBe(true)
  })

  it("gives up above the edit limit", () => {
    const base = bytes(Array.from({ length: 50 }, (_, i) => `a${i}\n`).join(""))
    const result = bytes(Array.from({ length: 50 }, (_, i) => `b${i}\n`).join(""))
    expect(Option.isNone(Rdiff.make(base, result, { maxEditLength: 10 }))).toBe(true)
  })

  it("round-trips arbitrary byte arrays (property)", () => {
    const lineish = fc.uint8Array({ maxLength: 200 }).map((a) => a.map((b) => (b % 7 === 0 ? 10 : b % 5 === 0 ? 13 : b)))
    fc.assert(
      fc.property(lineish, lineish, (base, result) => {
        expect(Buffer.compare(roundTrip(base, result), result)).toBe(0)
      }),
      { numRuns: 300 }
    )
  })

  it("round-trips edits of a shared text (property)", () => {
    const line = fc.constantFrom("alpha\n", "beta\r\n", "\n", "gamma", "\xff\n", "delta\n")
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), fc.array(line, { maxLength: 40 }), (a, b) => {
        const base = bytes(a.join(""))
        const result = bytes(b.join(""))
        expect(Buffer.from(roundTrip(base, result)).toString("latin1")).toBe(b.join(""))
      }),
      { numRuns: 300 }
    )
  })
})
