import { describe, expect, it } from "@effect/vitest"
import { sha256 } from "@homelab-mcp/core/backup/Hash"
import type { VersionRecord } from "@homelab-mcp/core/backup/Record"
import * as WritePlan from "@homelab-mcp/core/backup/WritePlan"

const t = (s: string) => new Uint8Array(Buffer.from(s, "utf8"))
const text = (n: number, seed: string) => Array.from({ length: n }, (_, i) => `${i} ${sha256(seed + i)}\n`).join("")
const settings = { largeFileBytes: 100_000, largeFilePolicy: "full" as const, globalCapBytes: 1 << 30 }
const seen: Array<unknown> = []
const largeChange: WritePlan.LargeChangeDetector = (input) => {
  seen.push(input)
  return input.previous === null ? { isLargeChange: true, reasons: ["new-file"] } : { isLargeChange: false, reasons: [] }
}
const record = (afterSha256: string | null): VersionRecord => ({
  versionId: "01HZZZZZZZZZZZZZZZZZZZZZZZ",
  descriptor: "host:/f",
  createdAt: "2026-01-01T00:00:00.000Z",
  seq: 1,
  tool: "write_file",
  opId: "op",
  kind: "absent",
  blob: null,
  base: null,
  beforeSha256: null,
  beforeBytes: 0,
  beforeMode: null,
  beforeUid: null,
  beforeGid: null,
  afterSha256,
  afterBytes: 0,
  binary: false,
  storedBytes: 0,
  uncertain: false,
  reanchored: false
})

describe("WritePlan.plan", () => {
  it("a create is absent-backed, revertible, large (new-file) and diffed against empty", () => {
    const p = WritePlan.plan({ previous: { exists: false }, next: t("hello\n"), settings, newest: null, largeChange })
    expect(p).toMatchObject({
      unchanged: false,
      newFile: true,
      prevBytes: 0,
      newBytes: 6,
      prevSha256: null,
      newSha256: sha256("hello\n"),
      backupKind: "absent",
      wouldBeRevertible: true,
      needsConfirm: false,
      reanchored: false,
      isLargeChange: true,
      largeChangeReasons: ["new-file"]
    })
    expect(p.diff.diff).toBe("--- before\n+++ after\n@@ -0,0 +1,1 @@\n+hello\n")
    expect(seen.at(-1)).toEqual({ previous: null, next: t("hello\n"), largeFileBytes: 100_000, lineHashes: expect.objectContaining({ before: expect.any(Function), after: expect.any(Function) }) })
  })

  it("identical content is a no-op with no backup", () => {
    const p = WritePlan.plan({ previous: { exists: true, bytes: t("same\n") }, next: t("same\n"), settings, newest: null, largeChange })
    expect(p).toMatchObject({ unchanged: true, backupKind: null, decision: null, needsConfirm: false, reanchored: false })
    expect(p.diff.diff).toBeNull()
  })

  it("an empty file is an existing file", () => {
    const p = WritePlan.plan({ previous: { exists: true, bytes: new Uint8Array(0) }, next: t("x\n"), settings, newest: null, largeChange })
    expect(p).toMatchObject({ newFile: false, backupKind: "full", prevSha256: sha256(""), wouldBeRevertible: true })
  })

  it("a small edit stores a delta; drift since the newest version re-anchors as full", () => {
    const before = text(40, "p")
    const after = before.replace("7 ", "7 edited ")
    const ok = WritePlan.plan({ previous: { exists: true, bytes: t(before) }, next: t(after), settings, newest: record(sha256(before)), largeChange })
    expect(ok).toMatchObject({ backupKind: "rdiff", reanchored: false, diff: { addedLines: 1, removedLines: 1 } })
    const drifted = WritePlan.plan({ previous: { exists: true, bytes: t(before) }, next: t(after), settings, newest: record(sha256("other")), largeChange })
    expect(drifted).toMatchObject({ backupKind: "full", reanchored: true })
    expect(WritePlan.isDrift(record(null), null)).toBe(false)
    expect(WritePlan.isDrift(null, "x")).toBe(false)
  })

  it("a metadata-only backup is not revertible and needs confirm, with a reason", () => {
    const p = WritePlan.plan({
      previous: { exists: true, bytes: t(text(50, "big")) },
      next: t("small\n"),
      settings: { ...settings, largeFileBytes: 100, largeFilePolicy: "metadata-only" },
      newest: null,
      largeChange
    })
    expect(p).toMatchObject({ backupKind: "metadata-only", wouldBeRevertible: false, needsConfirm: true })
    expect(p.notRevertibleReason).toMatch(/MCP_LARGE_FILE_POLICY is metadata-only/)
  })

  it("a previous file above the transport's restore limit is not revertible (qm agent)", () => {
    const p = WritePlan.plan({ previous: { exists: true, bytes: t(text(10, "q")) }, next: t("n\n"), settings, newest: null, largeChange, restoreLimitBytes: 100 })
    expect(p).toMatchObject({ backupKind: "full", wouldBeRevertible: false, needsConfirm: true })
    expect(p.notRevertibleReason).toMatch(/more than the 100 bytes/)
  })

  it("binary content gives binary:true and no diff", () => {
    const p = WritePlan.plan({ previous: { exists: true, bytes: t("a") }, next: new Uint8Array([0, 1]), settings, newest: null, largeChange })
    expect(p).toMatchObject({ backupKind: "full", diff: { diff: null, binary: true } })
  })
})

describe("WritePlan with the guardrails large-change detector (default)", () => {
  it("flags new files, shrink, churn and emptied content", () => {
    const created = WritePlan.plan({ previous: { exists: false }, next: t("x\n"), settings, newest: null })
    expect(created).toMatchObject({ isLargeChange: true, largeChangeReasons: ["new-file"] })
    const before = text(40, "g")
    const emptied = WritePlan.plan({ previous: { exists: true, bytes: t(before) }, next: new Uint8Array(0), settings, newest: null })
    expect(emptied.largeChangeReasons).toEqual(expect.arrayContaining(["shrink", "churn", "emptied"]))
    const small = WritePlan.plan({ previous: { exists: true, bytes: t(before) }, next: t(before.replace("3 ", "3 x")), settings, newest: null })
    expect(small).toMatchObject({ isLargeChange: false, largeChangeReasons: [] })
    const big = WritePlan.plan({ previous: { exists: true, bytes: t(before) }, next: t(before + "y\n"), settings: { ...settings, largeFileBytes: 100 }, newest: null })
    expect(big.largeChangeReasons).toContain("size")
  })
})

describe("WritePlan.planRevert", () => {
  it("restores bytes, deletes a created file, or is a no-op", () => {
    const restored = WritePlan.planRevert({ exists: true, bytes: t("new\n") }, { kind: "bytes", bytes: t("old\n"), sha256: sha256("old\n") })
    expect(restored).toMatchObject({ action: "restored", currentExists: true, restoresAbsence: false, restoredSha256: sha256("old\n") })
    expect(restored.diff.diff).toBe("--- current\n+++ restored\n@@ -1,1 +1,1 @@\n-new\n+old\n")
    const deleted = WritePlan.planRevert({ exists: true, bytes: t("x\n") }, { kind: "absent" })
    expect(deleted).toMatchObject({ action: "deleted", restoresAbsence: true, restoredSha256: null, restoredBytes: null })
    expect(WritePlan.planRevert({ exists: false }, { kind: "absent" })).toMatchObject({ action: "noop", currentExists: false })
    expect(WritePlan.planRevert({ exists: true, bytes: t("s") }, { kind: "bytes", bytes: t("s"), sha256: sha256("s") }).action).toBe("noop")
    expect(WritePlan.planRevert({ exists: false }, { kind: "bytes", bytes: t(""), sha256: sha256("") }).action).toBe("restored")
  })
})

describe("WritePlan.draft and decide", () => {
  it("decide(draft(input)) is plan(input), and a given full payload is the backup's", () => {
    const before = "a = 1\n".repeat(400)
    const input = { previous: { exists: true as const, bytes: t(before) }, next: t("b = 2\n".repeat(400)), settings, newest: null, largeChange }
    const d = WritePlan.draft(input)
    expect(WritePlan.decide(d)).toStrictEqual(WritePlan.plan(input))
    const full = { sha256: sha256(before), gz: new Uint8Array([31, 139]) }
    const decided = WritePlan.decide(d, full)
    expect(decided.decision?.kind === "full" && decided.decision.payload).toBe(full)
  })

  it("an unchanged content is decided a no-op whatever payload is given", () => {
    const d = WritePlan.draft({ previous: { exists: true, bytes: t("same\n") }, next: t("same\n"), settings, newest: null, largeChange })
    const p = WritePlan.decide(d, { sha256: sha256("same\n"), gz: new Uint8Array(0) })
    expect(p.unchanged).toBe(true)
    expect(p.decision).toBeNull()
  })
})
