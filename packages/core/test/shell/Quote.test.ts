import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import fc from "fast-check"
import { spawnSync } from "node:child_process"
import * as Quote from "../../src/shell/Quote.js"

/** Runs `printf "%s\0" <quoted argv>` through a real shell and splits the NUL-separated output. */
const roundTrip = (shell: string, argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const script = `printf '%s\\0' ${Quote.quoteArgv(argv)}`
  const r = spawnSync(shell, ["-c", script], { encoding: "buffer" })
  expect(r.status).toBe(0)
  const out = r.stdout.toString("utf8")
  const parts = out.split("\0")
  parts.pop()
  return parts
}

const noNul = fc.string({ unit: "binary" }).map((s) => s.replaceAll("\0", ""))
const nasty = fc.constantFrom("'", "''", "\\", "\\'", "$(reboot)", "`id`", "$HOME", "*", "a b", "\n", "-n", "--", "!", "\"", ";rm -rf /", "~", "#x", "")
const arg = fc.oneof(noNul, nasty, fc.array(nasty).map((a) => a.join("")))

describe("Quote.quote", () => {
  it("wraps in single quotes and escapes quotes as '\\''", () => {
    expect(Quote.quote("abc")).toBe("'abc'")
    expect(Quote.quote("")).toBe("''")
    expect(Quote.quote("it's")).toBe("'it'\\''s'")
  })

  it("rejects NUL", () => {
    expect(() => Quote.quote("a\0b")).toThrow(/NUL/)
    expect(() => Quote.quoteArgv(["ok", "a\0b"])).toThrow(/argument 1/)
    const e = Quote.quoteArgvEither(["x", "\0"])
    expect(Either.isLeft(e) && e.left._tag).toBe("InvalidInput")
    expect(Either.isLeft(Quote.checkArgv([]))).toBe(true)
    expect(Quote.quoteArgvEither(["a", "b'c"])).toStrictEqual(Either.right("'a' 'b'\\''c'"))
  })

  it("round-trips arbitrary argv through /bin/sh", () => {
    fc.assert(fc.property(fc.array(arg, { minLength: 1, maxLength: 6 }), (argv) => {
      expect(roundTrip("/bin/sh", argv)).toStrictEqual(argv)
    }), { numRuns: 150 })
  })

  it("round-trips arbitrary argv through bash", () => {
    fc.assert(fc.property(fc.array(arg, { minLength: 1, maxLength: 6 }), (argv) => {
      expect(roundTrip("bash", argv)).toStrictEqual(argv)
    }), { numRuns: 100 })
  })

  it("survives two levels of nesting (node shell running sh -c <quoted script>)", () => {
    fc.assert(fc.property(fc.array(arg, { minLength: 1, maxLength: 4 }), (argv) => {
      const inner = `printf '%s\\0' ${Quote.quoteArgv(argv)}`
      const outer = Quote.quoteArgv(["sh", "-c", inner])
      const r = spawnSync("/bin/sh", ["-c", outer], { encoding: "buffer" })
      const parts = r.stdout.toString("utf8").split("\0")
      parts.pop()
      expect(parts).toStrictEqual(argv)
    }), { numRuns: 60 })
  })

  it("passes caller data as positional parameters to a constant script", () => {
    const evil = "x'; touch /tmp/pwned-quote; echo '"
    const argv = ["sh", "-c", "printf '%s' \"$1\"", "sh", evil]
    const r = spawnSync("/bin/sh", ["-c", Quote.quoteArgv(argv)], { encoding: "utf8" })
    expect(r.stdout).toBe(evil)
  })
})

describe("validators", () => {
  it("vmid: integers 100..999999999 only", () => {
    expect(Quote.validateVmid(100)).toStrictEqual(Either.right("100"))
    expect(Quote.validateVmid(999_999_999)).toStrictEqual(Either.right("999999999"))
    for (const bad of [99, 1e9, 100.5, -1, NaN, "100", "100;reboot", null]) {
      const r = Quote.validateVmid(bad)
      expect(Either.isLeft(r) && r.left.message).toMatch(/vmid must be an integer/)
    }
  })

  it("unit names", () => {
    for (const ok of ["nginx.service", "getty@tty1.service", "sys-devices-x\\x2d1.device", "a:b"]) {
      expect(Quote.validateUnitName(ok)).toStrictEqual(Either.right(ok))
    }
    for (const bad of ["foo;reboot", "", "a b", "$(id)", "-n", "x".repeat(257), "a/b"]) {
      expect(Either.isLeft(Quote.validateUnitName(bad))).toBe(true)
    }
  })

  it("snapshot names", () => {
    expect(Quote.validateSnapshotName("mcp-20250101-120000")).toStrictEqual(Either.right("mcp-20250101-120000"))
    expect(Quote.validateSnapshotName("mcp-20250101-120000-2")).toStrictEqual(Either.right("mcp-20250101-120000-2"))
    for (const bad of ["before-upgrade", "mcp-", "mcp-a;b", "mcp-" + "a".repeat(37), "MCP-x", "mcp-a b"]) {
      const r = Quote.validateSnapshotName(bad)
      expect(Either.isLeft(r) && r.left._tag).toBe("InvalidSnapshotName")
    }
  })

  it("node, container, mode, id and path", () => {
    expect(Either.isRight(Quote.validateNodeName("pve"))).toBe(true)
    expect(Either.isLeft(Quote.validateNodeName("pve;x"))).toBe(true)
    expect(Either.isLeft(Quote.validateNodeName("-pve"))).toBe(true)
    expect(Either.isRight(Quote.validateContainerName("web_1.a-b"))).toBe(true)
    expect(Either.isLeft(Quote.validateContainerName("foo;reboot"))).toBe(true)
    expect(Quote.validateMode("644")).toStrictEqual(Either.right("0644"))
    expect(Quote.validateMode("0755")).toStrictEqual(Either.right("0755"))
    expect(Either.isLeft(Quote.validateMode("0999"))).toBe(true)
    expect(Either.isLeft(Quote.validateMode("rwx"))).toBe(true)
    expect(Quote.validateId("0")).toStrictEqual(Either.right("0"))
    expect(Quote.validateId(1000)).toStrictEqual(Either.right("1000"))
    expect(Either.isLeft(Quote.validateId("-1"))).toBe(true)
    expect(Either.isLeft(Quote.validateId("1; id"))).toBe(true)
    expect(Either.isRight(Quote.validateAbsolutePath("/etc/hosts"))).toBe(true)
    expect(Either.isLeft(Quote.validateAbsolutePath("etc/hosts"))).toBe(true)
    expect(Either.isLeft(Quote.validateAbsolutePath("/a\nb"))).toBe(true)
  })
})
