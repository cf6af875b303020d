import { describe, expect, it } from "@effect/vitest"
import { sha256 } from "@homelab-mcp/core/backup/Hash"
import * as Listing from "@homelab-mcp/core/backup/Listing"
import type { VersionRecord } from "@homelab-mcp/core/backup/Record"

const t = (s: string) => new Uint8Array(Buffer.from(s, "utf8"))
const record = (over: Partial<VersionRecord> = {}): VersionRecord => ({
  versionId: "01HZZZZZZZZZZZZZZZZZZZZZZZ",
  descriptor: "pct:101:/etc/hosts",
  createdAt: "2026-01-01T00:00:00.000Z",
  seq: 1,
  tool: "pct_write_file",
  opId: "op-1",
  kind: "full",
  blob: sha256("old\n"),
  base: null,
  beforeSha256: sha256("old\n"),
  beforeBytes: 4,
  beforeMode: 420,
  beforeUid: 0,
  beforeGid: 0,
  afterSha256: sha256("new\n"),
  afterBytes: 4,
  binary: false,
  storedBytes: 30,
  uncertain: false,
  reanchored: false,
  ...over
})

describe("Listing", () => {
  it("builds list_backups with the live state and a limit", () => {
    const views = [
      { record: record({ versionId: "01HZZZZZZZZZZZZZZZZZZZZZZ2", kind: "rdiff" }), revertible: false, revertReason: "changed outside this server after this version" },
      { record: record(), revertible: true }
    ]
    const out = Listing.listBackups("pct:101:/etc/hosts", { status: "present", sha256: sha256("x") }, views, 1)
    expect(out).toEqual({
      target: "pct:101:/etc/hosts",
      currentExists: true,
      currentSha256: sha256("x"),
      currentVerified: true,
      total: 2,
      versions: [
        {
          versionId: "01HZZZZZZZZZZZZZZZZZZZZZZ2",
          createdAt: "2026-01-01T00:00:00.000Z",
          tool: "pct_write_file",
          opId: "op-1",
          kind: "rdiff",
          beforeBytes: 4,
          storedBytes: 30,
          beforeSha256: sha256("old\n"),
          afterSha256: sha256("new\n"),
          revertible: false,
          revertReason: "changed outside this server after this version",
          uncertain: false
        }
      ]
    })
    expect(Listing.listBackups("host:/x", { status: "unknown", reason: "r" }, [], 20)).toMatchObject({ currentExists: null, currentVerified: false, total: 0, versions: [] })
    expect(Listing.listBackups("host:/x", { status: "absent" }, [], 20)).toMatchObject({ currentExists: false, currentSha256: null })
    expect(Listing.toListItem({ record: record(), revertible: true })).not.toHaveProperty("revertReason")
  })

  it("builds diff_config for a revertible, a deleting and a non-revertible version", () => {
    const ok = Listing.diffConfig({
      target: "pct:101:/etc/hosts",
      record: record(),
      current: { bytes: t("new\n"), sha256: sha256("new\n") },
      restored: { kind: "bytes", bytes: t("old\n"), sha256: sha256("old\n") },
      contextLines: 0
    })
    expect(ok).toMatchObject({ revertible: true, restoredSha256: sha256("old\n"), restoresAbsence: false, addedLines: 1, removedLines: 1, binary: false })
    expect(ok.diff).toBe("--- current\n+++ restored\n@@ -1,1 +1,1 @@\n-new\n+old\n")
    const del = Listing.diffConfig({ target: "t", record: record({ kind: "absent", blob: null, beforeSha256: null }), current: { bytes: t("new\n"), sha256: sha256("new\n") }, restored: { kind: "absent" } })
    expect(del).toMatchObject({ restoresAbsence: true, restoredSha256: null, removedLines: 1 })
    const no = Listing.diffConfig({ target: "t", record: record({ kind: "rdiff" }), current: null, restored: null, revertReason: "blob missing" })
    expect(no).toMatchObject({ revertible: false, revertReason: "blob missing", diff: null, currentExists: false, restoredSha256: sha256("old\n") })
  })
})
