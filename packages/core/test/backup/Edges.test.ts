// Backup decisions at their edges: the on-disk record format, target limits, the size limits of the policy at exactly
// their value, a delta that exists but is not small enough, and eviction over versions listed in any
// order.
import { describe, expect, it } from "@effect/vitest"
import * as Eviction from "@homelab-mcp/core/backup/Eviction"
import { gzip, sha256 } from "@homelab-mcp/core/backup/Hash"
import { isSelfContained, selectBackupKind, type BackupInput } from "@homelab-mcp/core/backup/Policy"
import * as Record from "@homelab-mcp/core/backup/Record"
import * as Target from "@homelab-mcp/core/backup/Target"
import * as Either from "effect/Either"

const t = (s: string) => new Uint8Array(Buffer.from(s, "utf8"))
const SHA_A = sha256("a")
const SHA_B = sha256("b")

const record: Record.VersionRecord = {
  versionId: "01J0ABCDEFGHJKMNPQRSTVWXYZ",
  descriptor: "lxc:101:/etc/caf\u00e9.conf",
  createdAt: "2026-01-01T00:00:00.000Z",
  seq: 7,
  tool: "pct_write_file",
  opId: "op-1",
  kind: "rdiff",
  blob: SHA_A,
  base: SHA_B,
  beforeSha256: SHA_A,
  beforeBytes: 12,
  beforeMode: 420,
  beforeUid: 0,
  beforeGid: 0,
  afterSha256: SHA_B,
  afterBytes: 13,
  binary: false,
  storedBytes: 40,
  uncertain: false,
  reanchored: false
}

describe("Record: the on-disk format", () => {
  it("is compact JSON and a newline, read back to the same record, its size counted in bytes", () => {
    const json = Record.toJson(record)
    expect(json.endsWith("}\n")).toBe(true)
    expect(json).not.toContain(": ")
    expect(Record.decodeJson(json)).toEqual(record)
    // the descriptor's é is two bytes: the size on disk is not the string length
    expect(Record.recordBytes(record)).toBe(json.length + 1)
  })

  it("reads every kind and refuses any other", () => {
    for (const kind of ["absent", "full", "rdiff", "metadata-only"] as const) {
      expect(Record.decodeJson(Record.toJson({ ...record, kind })).kind).toBe(kind)
    }
    expect(() => Record.decodeJson(JSON.stringify({ ...record, kind: "partial" }))).toThrow()
  })

  it("hashes are exactly 64 lower-case hex digits", () => {
    for (const blob of [SHA_A.toUpperCase(), SHA_A.slice(1), `${SHA_A}0`, `x${SHA_A.slice(1)}`, "a"]) {
      expect(() => Record.decodeJson(JSON.stringify({ ...record, blob }))).toThrow()
    }
  })

  it("version ids are 26 Crockford base-32 characters", () => {
    for (const versionId of ["01j0abcdefghjkmnpqrstvwxyz", "01J0ABCDEFGHJKMNPQRSTVWXY", "01J0ABCDEFGHJKMNPQRSTVWXYZ0", "01J0ABCDEFGHIKMNPQRSTVWXYZ", "-1J0ABCDEFGHJKMNPQRSTVWXYZ"]) {
      expect(() => Record.decodeJson(JSON.stringify({ ...record, versionId }))).toThrow()
    }
  })

  it("a record missing a field is refused", () => {
    const { storedBytes: _s, ...partial } = record
    expect(() => Record.decodeJson(JSON.stringify(partial))).toThrow()
  })
})

describe("Policy at its limits", () => {
  const text = (n: number, seed = "") => t(Array.from({ length: n }, (_, i) => `line ${i} ${sha256(`${seed}${i}`)}\n`).join(""))
  const decide = (previous: Uint8Array, next: Uint8Array, settings: BackupInput["settings"]) =>
    selectBackupKind({ previous, next, reanchor: false, settings })

  it("a previous file of exactly largeFileBytes is not large; one byte more is", () => {
    const previous = text(40)
    const settings = { largeFileBytes: previous.length, largeFilePolicy: "metadata-only" as const, globalCapBytes: 1e9 }
    expect(decide(previous, t("x\n"), settings).kind).toBe("full")
    expect(decide(previous, t("x\n"), { ...settings, largeFileBytes: previous.length - 1 })).toMatchObject({
      kind: "metadata-only",
      reason: "large-file-policy"
    })
  })

  it("a large file whose gzip is exactly the global cap is still stored whole", () => {
    const previous = text(40)
    const gz = gzip(previous).length
    const settings = { largeFileBytes: 1, largeFilePolicy: "full" as const, globalCapBytes: gz }
    expect(decide(previous, t("x\n"), settings).kind).toBe("full")
    expect(decide(previous, t("x\n"), { ...settings, globalCapBytes: gz - 1 })).toMatchObject({ kind: "metadata-only", reason: "over-global-cap" })
  })

  it("a delta that exists but is more than half the full copy is not stored", () => {
    // every third line rewritten: few enough for a delta, too many for it to be worth keeping
    const previous = text(40)
    const next = t(Array.from({ length: 40 }, (_, i) => `line ${i} ${sha256(`${i % 3 === 0 ? "new" : ""}${i}`)}\n`).join(""))
    const d = decide(previous, next, { largeFileBytes: 1e6, largeFilePolicy: "full", globalCapBytes: 1e9 })
    expect(d).toMatchObject({ kind: "full", binary: false, reanchored: false })
  })

  it("only absent and full versions restore on their own", () => {
    expect(isSelfContained("absent")).toBe(true)
    expect(isSelfContained("full")).toBe(true)
    expect(isSelfContained("rdiff")).toBe(false)
    expect(isSelfContained("metadata-only")).toBe(false)
  })
})

describe("Eviction over versions in any order", () => {
  const v = (versionId: string, descriptor: string, second: number, blob: string | null) => ({
    versionId,
    descriptor,
    createdAt: `2026-01-01T00:00:0${second}.000Z`,
    seq: second,
    blob,
    recordBytes: 10
  })
  const incoming = { descriptor: "host:/new", recordBytes: 10, blob: null, blobBytes: 0 }

  it("keeps the newest version of each target and evicts the oldest first, whatever the listing order", () => {
    const versions = [v("a3", "host:/a", 3, null), v("b2", "host:/b", 2, null), v("a1", "host:/a", 1, null), v("a2", "host:/a", 2, null), v("b1", "host:/b", 1, null)]
    const plan = Eviction.plan({ versions, blobSizes: new Map(), incoming, perFileCap: 10, globalCapBytes: 30 })
    // 6 records of 10 bytes against a cap of 30: the three non-newest go, oldest first (a1 and b1 tie on
    // time and seq, so the stable sort keeps their listing order)
    expect(plan.evict).toEqual(["a1", "b1", "a2"])
    expect(plan).toMatchObject({ usedBytesAfter: 30, overCap: false })
  })

  it("stops as soon as the store fits, an exact fit included", () => {
    const versions = [v("a1", "host:/a", 1, null), v("a2", "host:/a", 2, null), v("a3", "host:/a", 3, null)]
    const plan = Eviction.plan({ versions, blobSizes: new Map(), incoming, perFileCap: 10, globalCapBytes: 30 })
    expect(plan.evict).toEqual(["a1"])
    expect(plan.usedBytesAfter).toBe(30)
  })

  it("an incoming blob already in the store counts with its stored size", () => {
    const plan = Eviction.plan({
      versions: [v("a1", "host:/a", 1, "B")],
      blobSizes: new Map([["B", 100]]),
      incoming: { descriptor: "host:/a", recordBytes: 10, blob: "B", blobBytes: 5 },
      perFileCap: 10,
      globalCapBytes: 1e9
    })
    expect(plan).toMatchObject({ evict: [], deleteBlobs: [], usedBytesBefore: 110, usedBytesAfter: 120 })
  })
})

describe("Target limits", () => {
  it("vmids run from 100 to 999999999 and paths up to 4096 characters, in builders and parsing alike", () => {
    const longest = `/${"a".repeat(4095)}`
    expect(Target.pct(100, longest).descriptor).toBe(`pct:100:${longest}`)
    expect(() => Target.qm(1_000_000_000, "/x")).toThrow(/vmid/)
    expect(() => Target.host(`${longest}a`)).toThrow(/absolute/)
    expect(() => Target.pct(101, "relative")).toThrow(/absolute/)
    expect(() => Target.pct(101, "/a\0b")).toThrow(/absolute/)
    expect(Either.getOrThrow(Target.parse("pct:100:/x")).vmid).toBe(100)
    expect(Target.parse("qm:1000000000:/x")).toEqual(Either.left("vmid out of range in qm:1000000000:/x"))
    expect(Target.parse(`pct:101:${longest}a`)).toEqual(Either.left(`target path must be absolute: pct:101:${longest}a`))
  })

  it("a descriptor must start with its kind", () => {
    expect(Target.parse("xpct:101:/x")).toEqual(
      Either.left("not a target descriptor (host:<path>, pct:<vmid>:<path>, qm:<vmid>:<path>): xpct:101:/x")
    )
  })
})
