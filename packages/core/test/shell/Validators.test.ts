// The identifier validators at their edges (length and value limits, anchoring of each pattern) and
// what a refusal tells the caller: the argument's key and the rejected value.
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import type { InvalidInput } from "../../src/Errors.js"
import * as Quote from "../../src/shell/Quote.js"

const refusal = <A>(r: Either.Either<A, InvalidInput>): InvalidInput => {
  if (Either.isRight(r)) throw new Error(`expected a refusal, got ${JSON.stringify(r.right)}`)
  return r.left
}

describe("validator refusals name the argument and the value", () => {
  it("each validator reports its default key, or the key it was given", () => {
    expect(refusal(Quote.validateVmid("x")).key).toBe("vmid")
    expect(refusal(Quote.validateUnitName("a b")).key).toBe("unit")
    expect(refusal(Quote.validateUnitName("a b", "service")).key).toBe("service")
    expect(refusal(Quote.validateNodeName("pve;x")).key).toBe("node")
    expect(refusal(Quote.validateContainerName("a;b")).key).toBe("container")
    expect(refusal(Quote.validateMode("rwx")).key).toBe("mode")
    expect(refusal(Quote.validateId("x")).key).toBe("uid")
    expect(refusal(Quote.validateId("x", "gid")).key).toBe("gid")
    expect(refusal(Quote.validateAbsolutePath("rel")).key).toBe("path")
  })

  it("the reason quotes the rejected value and says what is accepted", () => {
    expect(refusal(Quote.validateUnitName("a b")).reason).toBe(
      "unit \"a b\" is not a unit name: use 1-256 of A-Z a-z 0-9 @ : . _ \\ - (not starting with -)."
    )
    expect(refusal(Quote.validateNodeName("pve;x")).reason).toBe("\"pve;x\" is not a valid node name (a DNS label).")
    expect(refusal(Quote.validateContainerName("a;b")).reason).toBe("\"a;b\" is not a container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*).")
    expect(refusal(Quote.validateMode("rwx")).reason).toBe("mode \"rwx\" is not an octal mode like 0644.")
    expect(refusal(Quote.validateId("x", "gid")).reason).toBe("gid \"x\" is not a numeric id.")
    expect(refusal(Quote.validateAbsolutePath("rel")).reason).toBe("path must be an absolute path without NUL or newline, got \"rel\".")
  })

  it("argv refusals say whether the argv is empty or which argument holds the NUL", () => {
    expect(refusal(Quote.checkArgv([])).reason).toBe("The command argv is empty.")
    expect(refusal(Quote.checkArgv(["a", "b", "c\0"])).reason).toMatch(/^Argument 2 contains a NUL byte/)
  })

  it("quote's programmer error carries its tag and the argument index", () => {
    const thrown = (() => {
      try {
        Quote.quoteArgv(["a", "b", "\0"])
      } catch (e) {
        return e
      }
    })()
    expect(thrown).toBeInstanceOf(Quote.NulInArgument)
    expect(thrown).toMatchObject({ _tag: "NulInArgument", index: 2 })
  })
})

describe("validator edges", () => {
  it("node names are DNS labels: 1 to 63 characters, anchored at both ends", () => {
    for (const ok of ["a", "pve1", "pve-node-01", `a${"b".repeat(61)}c`]) expect(Quote.validateNodeName(ok)).toStrictEqual(Either.right(ok))
    for (const bad of [`a${"b".repeat(62)}c`, "pve-", "x pve", "pve\nx", ""]) expect(Either.isLeft(Quote.validateNodeName(bad))).toBe(true)
  })

  it("snapshot names must start with mcp-", () => {
    expect(Either.isLeft(Quote.validateSnapshotName("xmcp-a"))).toBe(true)
    expect(Either.isLeft(Quote.validateSnapshotName("pre-mcp-a"))).toBe(true)
  })

  it("modes are 3 or 4 octal digits with an optional leading 0, returned as 4 digits", () => {
    expect(Quote.validateMode("04755")).toStrictEqual(Either.right("4755"))
    expect(Quote.validateMode("4755")).toStrictEqual(Either.right("4755"))
    for (const bad of ["x644", "6448", "0644 ", "64", "104755"]) expect(Either.isLeft(Quote.validateMode(bad))).toBe(true)
  })

  it("ids are decimal digits only, up to 4294967295", () => {
    expect(Quote.validateId("4294967295")).toStrictEqual(Either.right("4294967295"))
    expect(Quote.validateId("007")).toStrictEqual(Either.right("7"))
    for (const bad of ["4294967296", "9999999999", "1e3", "12 ", "0x10", "12345678901"]) expect(Either.isLeft(Quote.validateId(bad))).toBe(true)
  })

  it("absolute paths are at most 4096 characters", () => {
    const longest = `/${"a".repeat(4095)}`
    expect(Quote.validateAbsolutePath(longest)).toStrictEqual(Either.right(longest))
    expect(Either.isLeft(Quote.validateAbsolutePath(`${longest}a`))).toBe(true)
  })
})
