import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import { gzip, sha256 } from "@homelab-mcp/core/backup/Hash"
import { selectBackupKind } from "@homelab-mcp/core/backup/Policy"
import * as Reconstruct from "@homelab-mcp/core/backup/Reconstruct"
import type { VersionRecord } from "@homelab-mcp/core/backup/Record"

const t = (s: string) => new Uint8Array(Buffer.from(s, "utf8"))
const text = (n: number, seed: string) => Array.from({ length: n }, (_, i) => `${i} ${sha256(seed + i)}\n`).join("")
const settings = { largeFileBytes: 1 << 20, largeFilePolicy: "full" as const, globalCapBytes: 1 << 30 }

/** A minimal in-test store over the pure policy: what the real store does, without files. */
class Sim {
  records: Array<VersionRecord> = []
  blobs = new Map<string, Uint8Array>()
  live = new Map<string, Uint8Array | null>()
  seq = 0
  write(descriptor: string, next: Uint8Array | null, policy = settings) {
    const previous = this.live.get(descriptor) ?? null
    const prevSha = previous === null ? null : sha256(previous)
    const newest = this.records.filter((r) => r.descriptor === descriptor).at(-1)
    const reanchor = newest !== undefined && newest.afterSha256 !== prevSha
    const d = selectBackupKind({ previous, next, reanchor, settings: policy })
    const blob = d.kind === "full" || d.kind === "rdiff" ? d.payload : null
    if (blob !== null) this.blobs.set(blob.sha256, blob.gz)
    const seq = ++this.seq
    const record: VersionRecord = {
      versionId: `01H${String(seq).padStart(23, "0")}`,
      descriptor,
      createdAt: "2026-01-01T00:00:00.000Z",
      seq,
      tool: "write_file",
      opId: `op-${seq}`,
      kind: d.kind,
      blob: blob?.sha256 ?? null,
      base: d.kind === "rdiff" ? d.base : null,
      beforeSha256: prevSha,
      beforeBytes: previous?.length ?? 0,
      beforeMode: null,
      beforeUid: null,
      beforeGid: null,
      afterSha256: next === null ? null : sha256(next),
      afterBytes: next?.length ?? 0,
      binary: d.binary,
      storedBytes: blob?.gz.length ?? 0,
      uncertain: false,
      reanchored: d.reanchored
    }
    this.records.push(record)
    this.live.set(descriptor, next)
    return { record, previous }
  }
  liveState(descriptor: string): Reconstruct.LiveState {
    const bytes = this.live.get(descriptor) ?? null
    return bytes === null ? { status: "absent" } : { status: "present", sha256: sha256(bytes), bytes }
  }
  of(descriptor: string) {
    return this.records.filter((r) => r.descriptor === descriptor)
  }
  classify(descriptor: string) {
    return Reconstruct.classify(this.of(descriptor), this.liveState(descriptor), (b) => this.blobs.has(b))
  }
  restore(descriptor: string, versionId: string) {
    return Reconstruct.reconstruct(this.of(descriptor), versionId, this.liveState(descriptor), this.blobs)
  }
}

const bytesOf = (r: Either.Either<Reconstruct.Restored, unknown>) => {
  const restored = Either.getOrThrow(r)
  return restored.kind === "absent" ? null : Buffer.from(restored.bytes).toString("utf8")
}

describe("Reconstruct", () => {
  it("missing versus empty: a create restores absence, an empty file restores empty bytes", () => {
    const sim = new Sim()
    const created = sim.write("host:/new", t("content\n")).record
    expect(created.kind).toBe("absent")
    expect(created.blob).toBeNull()
    expect(Either.getOrThrow(sim.restore("host:/new", created.versionId))).toEqual({ kind: "absent" })
    sim.live.set("host:/empty", new Uint8Array(0))
    const emptied = sim.write("host:/empty", t("filled\n")).record
    expect(emptied.kind).toBe("full")
    expect(bytesOf(sim.restore("host:/empty", emptied.versionId))).toBe("")
  })

  it("dedup A, B, C, B: reverting the last write yields C; X, Y, X yields Y then X", () => {
    const sim = new Sim()
    const base = text(30, "abc")
    const [A, B, C] = ["A", "B", "C"].map((x) => t(base.replace("0 ", `0 ${x}`)))
    sim.live.set("host:/f", A!)
    sim.write("host:/f", B!)
    sim.write("host:/f", C!)
    const last = sim.write("host:/f", B!).record
    expect(bytesOf(sim.restore("host:/f", last.versionId))).toBe(Buffer.from(C!).toString())
    const sim2 = new Sim()
    const X = t(text(30, "x"))
    const Y = t(text(30, "y"))
    sim2.live.set("host:/g", Y)
    const v1 = sim2.write("host:/g", X).record
    const v2 = sim2.write("host:/g", Y).record
    const v3 = sim2.write("host:/g", X).record
    expect(bytesOf(sim2.restore("host:/g", v3.versionId))).toBe(Buffer.from(Y).toString())
    expect(bytesOf(sim2.restore("host:/g", v2.versionId))).toBe(Buffer.from(X).toString())
    expect(bytesOf(sim2.restore("host:/g", v1.versionId))).toBe(Buffer.from(Y).toString())
  })

  it("equal content in two files never mixes up their records", () => {
    const sim = new Sim()
    const same = t(text(10, "same"))
    sim.live.set("host:/a", same)
    sim.live.set("host:/b", same)
    const a = sim.write("host:/a", t("a\n")).record
    const b = sim.write("host:/b", t("b\n")).record
    expect(a.blob).toBe(b.blob)
    expect(bytesOf(sim.restore("host:/a", a.versionId))).toBe(Buffer.from(same).toString())
    expect(Either.isLeft(sim.restore("host:/a", b.versionId))).toBe(true)
  })

  it("stale base: an out-of-band change makes rdiff versions non-revertible; the next write re-anchors as full", () => {
    const sim = new Sim()
    const base = text(40, "conf")
    sim.live.set("pct:101:/etc/conf", t(base))
    const v1 = sim.write("pct:101:/etc/conf", t(base.replace("1 ", "1 one"))).record
    const v2 = sim.write("pct:101:/etc/conf", t(base.replace("2 ", "2 two"))).record
    expect([v1.kind, v2.kind]).toEqual(["rdiff", "rdiff"])
    expect([...sim.classify("pct:101:/etc/conf").values()].every((r) => r.revertible)).toBe(true)
    sim.live.set("pct:101:/etc/conf", t(base.replace("3 ", "3 sed")))
    const stale = sim.classify("pct:101:/etc/conf")
    expect(stale.get(v1.versionId)).toEqual({ revertible: false, reason: Reconstruct.STALE_REASON })
    expect(stale.get(v2.versionId)).toEqual({ revertible: false, reason: "changed outside this server after this version" })
    expect(Either.getLeft(sim.restore("pct:101:/etc/conf", v2.versionId))).toMatchObject({ _tag: "Some", value: { reason: Reconstruct.STALE_REASON } })
    const v3 = sim.write("pct:101:/etc/conf", t(base)).record
    expect(v3).toMatchObject({ kind: "full", reanchored: true })
    expect(bytesOf(sim.restore("pct:101:/etc/conf", v3.versionId))).toBe(base.replace("3 ", "3 sed"))
    expect(sim.classify("pct:101:/etc/conf").get(v1.versionId)?.revertible).toBe(false)
  })

  it("a chain of deltas rebuilds through newer versions, and a missing blob breaks only what needs it", () => {
    const sim = new Sim()
    const base = text(40, "chain")
    sim.live.set("host:/c", t(base))
    const states = [base]
    const versions = [1, 2, 3].map((i) => {
      const next = states[states.length - 1]!.replace(`${i} `, `${i} edit`)
      states.push(next)
      return sim.write("host:/c", t(next)).record
    })
    versions.forEach((v, i) => expect(bytesOf(sim.restore("host:/c", v.versionId))).toBe(states[i]))
    sim.blobs.delete(versions[1]!.blob!)
    const c = sim.classify("host:/c")
    expect(c.get(versions[2]!.versionId)).toEqual({ revertible: true })
    expect(c.get(versions[1]!.versionId)).toEqual({ revertible: false, reason: Reconstruct.BLOB_MISSING_REASON })
    expect(c.get(versions[0]!.versionId)).toMatchObject({ revertible: false, reason: expect.stringContaining("blob missing") })
  })

  it("corruption: a blob that does not hash to its name, or does not decompress, is reported and never returned", () => {
    const sim = new Sim()
    sim.live.set("host:/x", t("old\n"))
    const v = sim.write("host:/x", t("new\n")).record
    sim.blobs.set(v.blob!, gzip(t("tampered\n")))
    const r = sim.restore("host:/x", v.versionId)
    expect(Either.getLeft(r)).toMatchObject({ _tag: "Some", value: { corrupt: true, reason: expect.stringContaining("backup corrupted") } })
    sim.blobs.set(v.blob!, t("not gzip"))
    expect(Either.getLeft(sim.restore("host:/x", v.versionId))).toMatchObject({ _tag: "Some", value: { corrupt: true } })
  })

  it("a record whose beforeSha256 disagrees with its payload is corruption", () => {
    const sim = new Sim()
    sim.live.set("host:/y", t("old\n"))
    const v = sim.write("host:/y", t("new\n")).record
    sim.records[0] = { ...v, beforeSha256: sha256("something else") }
    expect(Either.getLeft(sim.restore("host:/y", v.versionId))).toMatchObject({ _tag: "Some", value: { corrupt: true } })
  })

  it("metadata-only, unknown live state and unknown ids are explained", () => {
    const sim = new Sim()
    sim.live.set("host:/big", t(text(100, "big")))
    const meta = sim.write("host:/big", t("small\n"), { ...settings, largeFileBytes: 10, largeFilePolicy: "metadata-only" as "full" }).record
    expect(meta.kind).toBe("metadata-only")
    expect(sim.classify("host:/big").get(meta.versionId)).toEqual({ revertible: false, reason: Reconstruct.METADATA_ONLY_REASON })
    const sim2 = new Sim()
    const base = text(40, "u")
    sim2.live.set("host:/u", t(base))
    const v = sim2.write("host:/u", t(base.replace("5 ", "5 x"))).record
    expect(v.kind).toBe("rdiff")
    const unknown = Reconstruct.classify(sim2.of("host:/u"), { status: "unknown", reason: "permission denied" }, () => true)
    expect(unknown.get(v.versionId)).toEqual({ revertible: false, reason: "the live file could not be hashed (permission denied)" })
    const noBytes = Reconstruct.reconstruct(sim2.of("host:/u"), v.versionId, { status: "present", sha256: v.base! }, sim2.blobs)
    expect(Either.getLeft(noBytes)).toMatchObject({ _tag: "Some", value: { reason: expect.stringContaining("not read") } })
    expect(Either.isLeft(Reconstruct.reconstruct(sim2.of("host:/u"), "nope", sim2.liveState("host:/u"), sim2.blobs))).toBe(true)
    expect(Reconstruct.requiredBlobs(sim2.of("host:/u"), v.versionId, sim2.liveState("host:/u"), () => true)).toEqual(Either.right([v.blob]))
  })

  it("changedOutOfBand compares the live state with the newest version's afterSha256", () => {
    const sim = new Sim()
    expect(Reconstruct.changedOutOfBand([], { status: "absent" })).toBe(false)
    sim.write("host:/o", t("a\n"))
    expect(Reconstruct.changedOutOfBand(sim.of("host:/o"), sim.liveState("host:/o"))).toBe(false)
    expect(Reconstruct.changedOutOfBand(sim.of("host:/o"), { status: "absent" })).toBe(true)
    expect(Reconstruct.changedOutOfBand(sim.of("host:/o"), { status: "unknown", reason: "x" })).toBe(true)
    sim.write("host:/o", null)
    expect(Reconstruct.changedOutOfBand(sim.of("host:/o"), { status: "absent" })).toBe(false)
    expect(Reconstruct.liveSha256({ status: "present", sha256: "s" })).toBe("s")
  })

  it("property: every revertible version rebuilds exactly the bytes that were there before its write", () => {
    const targets = ["host:/a", "pct:101:/b", "qm:200:/c"]
    const line = fc.constantFrom("x=1\n", "y=2\r\n", "\n", "z", "# c\xe9\n", "k=v\n")
    const content = fc.oneof(
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 8, arbitrary: fc.array(line, { maxLength: 30 }).map((ls) => t(ls.join(""))) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) }
    )
    const step = fc.record({
      target: fc.integer({ min: 0, max: 2 }),
      next: content,
      outOfBand: fc.boolean()
    })
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 25 }), (steps) => {
        const sim = new Sim()
        const truth = new Map<string, Uint8Array | null>()
        for (const s of steps) {
          const d = targets[s.target]!
          if (s.outOfBand) {
            sim.live.set(d, s.next)
            continue
          }
          if (s.next === null && (sim.live.get(d) ?? null) === null) continue
          const { record, previous } = sim.write(d, s.next)
          truth.set(record.versionId, previous)
        }
        for (const d of targets) {
          for (const [id, r] of sim.classify(d)) {
            if (!r.revertible) {
              expect(r.reason).not.toBe(Reconstruct.BLOB_MISSING_REASON)
              continue
            }
            const restored = Either.getOrThrow(sim.restore(d, id))
            const expected = truth.get(id)!
            if (expected === null) expect(restored.kind).toBe("absent")
            else expect(restored.kind === "bytes" && Buffer.compare(restored.bytes, expected) === 0).toBe(true)
          }
          // with no out-of-band change since, the newest version is always revertible
          const newest = sim.of(d).at(-1)
          const live = sim.live.get(d) ?? null
          if (newest !== undefined && newest.afterSha256 === (live === null ? null : sha256(live))) {
            expect(sim.classify(d).get(newest.versionId)).toEqual({ revertible: true })
          }
          if (!steps.some((s) => s.outOfBand)) {
            expect([...sim.classify(d).values()].every((r) => r.revertible)).toBe(true)
          }
        }
      }),
      { numRuns: 200 }
    )
  })
})
