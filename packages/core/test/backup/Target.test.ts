import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { sha256 } from "@homelab-mcp/core/backup/Hash"
import * as Target from "@homelab-mcp/core/backup/Target"

describe("Target", () => {
  it("builds the three descriptor forms", () => {
    expect(Target.host("/etc/hosts").descriptor).toBe("host:/etc/hosts")
    expect(Target.pct(101, "/etc/hosts")).toEqual({ kind: "pct", vmid: 101, path: "/etc/hosts", descriptor: "pct:101:/etc/hosts" })
    expect(Target.qm(200, "/a b").descriptor).toBe("qm:200:/a b")
  })

  it("parses descriptors back and rejects bad ones with a reason", () => {
    for (const d of ["host:/etc/hosts", "pct:101:/etc/x:y", "qm:999999999:/x"]) {
      expect(Either.getOrThrow(Target.parse(d)).descriptor).toBe(d)
    }
    expect(Target.parse("host:etc/hosts")).toEqual(Either.left("host target path must be absolute: host:etc/hosts"))
    expect(Either.isLeft(Target.parse("lxc:101:/x"))).toBe(true)
    expect(Either.isLeft(Target.parse("pct:99:/x"))).toBe(true)
    expect(Either.isLeft(Target.parse("pct:101:x"))).toBe(true)
    expect(() => Target.host("relative")).toThrow(/absolute/)
    expect(() => Target.pct(5, "/x")).toThrow(/vmid/)
  })

  it("keys a target by the first 32 hex digits of sha256(descriptor)", () => {
    expect(Target.targetKey("host:/etc/hosts")).toBe(sha256("host:/etc/hosts").slice(0, 32))
    expect(Target.targetKey("host:/etc/hosts")).toMatch(/^[0-9a-f]{32}$/)
    expect(Target.info(Target.pct(101, "/etc/hosts"))).toEqual({ descriptor: "pct:101:/etc/hosts", kind: "pct", vmid: 101, path: "/etc/hosts" })
    expect(Target.info(Target.host("/etc/hosts"))).toEqual({ descriptor: "host:/etc/hosts", kind: "host", path: "/etc/hosts" })
  })
})
