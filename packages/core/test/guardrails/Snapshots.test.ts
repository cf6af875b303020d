import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import {
  baseName,
  description,
  evictionCandidates,
  generateName,
  isOwned,
  NAME_PATTERN,
  noteOf,
  OWNERSHIP_MARKER,
  validateName
} from "@homelab-mcp/core/guardrails/Snapshots"

const T = Date.UTC(2026, 10, 26, 9, 5, 7) // 2026-11-26 09:05:07 UTC

describe("snapshot names (§5)", () => {
  it("generates mcp-YYYYMMDD-HHMMSS in UTC with -2, -3 when taken", () => {
    expect(baseName(T)).toBe("mcp-20261126-090507")
    expect(baseName(new Date(T))).toBe("mcp-20261126-090507")
    expect(generateName(T, [])).toBe("mcp-20261126-090507")
    expect(generateName(T, ["mcp-20261126-090507"])).toBe("mcp-20261126-090507-2")
    expect(generateName(T, ["mcp-20261126-090507", "mcp-20261126-090507-2", "other"])).toBe("mcp-20261126-090507-3")
    expect(generateName(T, new Set(["mcp-20261126-090507", "mcp-20261126-090507-3"]))).toBe("mcp-20261126-090507-2")
  })

  it("generated names always validate and never collide (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253402300799000 }), fc.integer({ min: 0, max: 30 }), (ms, taken) => {
        const base = baseName(ms)
        const existing = [base, ...Array.from({ length: taken }, (_, i) => `${base}-${i + 2}`)].slice(0, taken)
        const name = generateName(ms, existing)
        expect(NAME_PATTERN.test(name)).toBe(true)
        expect(name.length).toBeLessThanOrEqual(40)
        expect(existing).not.toContain(name)
      })
    )
  })

  it.each(["mcp-1", "mcp-20261126-090507", "mcp-20261126-090507-2", "mcp-a_b-C", `mcp-${"x".repeat(36)}`])("accepts %s", (n) => {
    expect(Either.getOrThrow(validateName(n))).toBe(n)
  })

  it.each(["", "mcp-", "MCP-1", "snap1", "mcp-a b", "mcp-a;reboot", "mcp-../x", `mcp-${"x".repeat(37)}`, "mcp-ü", " mcp-1", "mcp-1\n"])("rejects %j with InvalidSnapshotName", (n) => {
    const r = validateName(n)
    expect(Either.isLeft(r)).toBe(true)
    if (Either.isLeft(r)) {
      expect(r.left._tag).toBe("InvalidSnapshotName")
      expect(r.left.name).toBe(n)
    }
  })
})

describe("ownership (§5)", () => {
  it("writes the marker as the first line", () => {
    expect(OWNERSHIP_MARKER).toBe("homelab-mcp managed")
    expect(description()).toBe("homelab-mcp managed")
    expect(description("")).toBe("homelab-mcp managed")
    expect(description("before upgrade")).toBe("homelab-mcp managed\nbefore upgrade")
    expect(noteOf(description("before upgrade"))).toBe("before upgrade")
    expect(noteOf(description())).toBeNull()
    expect(noteOf("operator text")).toBeNull()
    expect(noteOf(null)).toBeNull()
    expect(noteOf("homelab-mcp managed\n")).toBeNull()
  })

  it("needs both the mcp- prefix and the marker line", () => {
    expect(isOwned({ name: "mcp-20261126-090507", description: "homelab-mcp managed\nnote" })).toBe(true)
    expect(isOwned({ name: "mcp-x", description: "homelab-mcp managed\r\n" })).toBe(true)
    expect(isOwned({ name: "mcp-x", description: "homelab-mcp managed  " })).toBe(true)
    expect(isOwned({ name: "mcp-hand-made", description: "my snapshot" })).toBe(false)
    expect(isOwned({ name: "mcp-hand-made", description: "note\nhomelab-mcp managed" })).toBe(false)
    expect(isOwned({ name: "mcp-x" })).toBe(false)
    expect(isOwned({ name: "mcp-x", description: null })).toBe(false)
    expect(isOwned({ name: "before-upgrade", description: "homelab-mcp managed" })).toBe(false)
  })

  it("evicts only owned snapshots, oldest first, beyond the cap", () => {
    const owned = (name: string, snaptime: number) => ({ name, snaptime, description: description() })
    const snaps = [
      owned("mcp-3", 300),
      { name: "mcp-operator", snaptime: 50, description: "by hand" },
      owned("mcp-1", 100),
      { name: "weekly", snaptime: 10, description: "homelab-mcp managed" },
      owned("mcp-2", 200),
      owned("mcp-4", 400)
    ]
    expect(evictionCandidates(snaps, 3).map((s) => s.name)).toEqual(["mcp-1"])
    expect(evictionCandidates(snaps, 1).map((s) => s.name)).toEqual(["mcp-1", "mcp-2", "mcp-3"])
    expect(evictionCandidates(snaps, 10)).toEqual([])
    expect(evictionCandidates(snaps, -1).map((s) => s.name)).toEqual(["mcp-1", "mcp-2", "mcp-3", "mcp-4"])
    const noTimes = [{ name: "mcp-b", description: description() }, { name: "mcp-a", description: description() }]
    expect(evictionCandidates(noTimes, 1).map((s) => s.name)).toEqual(["mcp-a"])
  })
})
