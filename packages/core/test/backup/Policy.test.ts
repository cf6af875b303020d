import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { gunzip, gzip, gzipOffThread, sha256 } from "@homelab-mcp/core/backup/Hash"
import { defaultSettings, fullPayload, fullPayloadOffThread, selectBackupKind, type BackupInput } from "@homelab-mcp/core/backup/Policy"
import * as Rdiff from "@homelab-mcp/core/backup/Rdiff"

const t = (s: string) => new Uint8Array(Buffer.from(s, "utf8"))
const settings = { largeFileBytes: 10000, largeFilePolicy: "full" as const, globalCapBytes: 1_000_000 }
const decide = (previous: Uint8Array | null, next: Uint8Array | null, extra: Partial<BackupInput> = {}) =>
  selectBackupKind({ previous, next, reanchor: false, settings, ...extra })

// Hash-derived lines compress about as badly as real configuration files do.
const bigText = (lines: number, seed = "") =>
  t(Array.from({ length: lines }, (_, i) => `line ${i} ${sha256(`${seed}${i}`)}\n`).join(""))

describe("selectBackupKind", () => {
  it("stores a missing target as absent, never an empty blob", () => {
    const d = decide(null, t("new\n"))
    expect(d).toEqual({ kind: "absent", binary: false, reanchored: false })
    expect("payload" in d).toBe(false)
  })

  it("stores an empty existing file as full with the empty payload (empty is not missing)", () => {
    const d = decide(new Uint8Array(0), t("now has content\n"))
    expect(d.kind).toBe("full")
    if (d.kind === "full") {
      expect(d.payload.sha256).toBe(sha256(new Uint8Array(0)))
      expect(gunzip(d.payload.gz)).toHaveLength(0)
    }
  })

  it("stores a small edit of a large-ish text as rdiff that rebuilds the previous bytes", () => {
    const previous = bigText(40)
    const next = t(Buffer.from(previous).toString().replace("line 20", "LINE 20"))
    const d = decide(previous, next)
    expect(d.kind).toBe("rdiff")
    if (d.kind === "rdiff") {
      expect(d.base).toBe(sha256(next))
      const payload = gunzip(d.payload.gz)
      expect(sha256(payload)).toBe(d.payload.sha256)
      const rebuilt = Either.getOrThrow(Rdiff.apply(Either.getOrThrow(Rdiff.decode(payload)), next))
      expect(Buffer.compare(rebuilt, previous)).toBe(0)
    }
  })

  it("falls back to full when the delta is not at most half the compressed previous content", () => {
    const d = decide(t("short\n"), t("different\n"))
    expect(d.kind).toBe("full")
    if (d.kind === "full") expect(Buffer.from(gunzip(d.payload.gz)).toString()).toBe("short\n")
  })

  it("stores binary on either side as full", () => {
    const previous = bigText(40)
    const next = new Uint8Array([...previous.slice(0, 100), 0, ...previous.slice(100)])
    expect(decide(previous, next)).toMatchObject({ kind: "full", binary: true })
    expect(decide(next, previous)).toMatchObject({ kind: "full", binary: true })
    expect(decide(null, next)).toMatchObject({ kind: "absent", binary: true })
  })

  it("applies the large-file policy and the global cap", () => {
    const previous = bigText(200)
    expect(previous.length).toBeGreaterThan(10000)
    expect(decide(previous, t("x"))).toMatchObject({ kind: "full" })
    expect(decide(previous, t("x"), { settings: { ...settings, largeFilePolicy: "metadata-only" } })).toEqual({
      kind: "metadata-only",
      binary: false,
      reanchored: false,
      reason: "large-file-policy"
    })
    expect(decide(previous, t("x"), { settings: { ...settings, globalCapBytes: 10 } })).toMatchObject({
      kind: "metadata-only",
      reason: "over-global-cap"
    })
  })

  it("re-anchors as full after an out-of-band change, never as a delta", () => {
    const previous = bigText(40)
    const next = t(Buffer.from(previous).toString().replace("line 3", "LINE 3"))
    expect(decide(previous, next).kind).toBe("rdiff")
    expect(decide(previous, next, { reanchor: true })).toMatchObject({ kind: "full", reanchored: true })
  })

  it("stores a deletion's previous content as full", () => {
    expect(decide(bigText(40), null)).toMatchObject({ kind: "full" })
  })

  it("names blobs by the payload actually stored", () => {
    const a = decide(t("A\n"), t("B\n"))
    const b = decide(t("A\n"), t("C\n"))
    expect(a.kind === "full" && b.kind === "full" && a.payload.sha256 === b.payload.sha256).toBe(true)
    expect(defaultSettings).toEqual({
      largeFileBytes: 1048576,
      largeFilePolicy: "full",
      perFileCap: 10,
      globalCapBytes: 104857600,
      diskPressurePolicy: "warn"
    })
  })
})

describe("the full payload made off the main thread", () => {
  it.effect("gzipOffThread gives gzip's bytes exactly", () =>
    Effect.gen(function* () {
      const samples = fc.sample(fc.uint8Array({ maxLength: 200_000 }), 40)
      samples.push(new TextEncoder().encode("key = value\n".repeat(30_000)), new Uint8Array(0))
      for (const bytes of samples) {
        const off = yield* gzipOffThread(bytes)
        expect(Buffer.compare(off, gzip(bytes))).toBe(0)
      }
      const payload = yield* fullPayloadOffThread(samples.at(-2)!)
      expect(payload).toStrictEqual(fullPayload(samples.at(-2)!))
    }))

  it("a full payload given is the one decided on, never compressed again", () => {
    const previous = new TextEncoder().encode("old line\n".repeat(50))
    const given = { sha256: sha256(previous), gz: fullPayload(previous).gz.slice() }
    const d = selectBackupKind({ previous, next: new Uint8Array([0, 1]), reanchor: false, settings: defaultSettings, full: given })
    expect(d.kind).toBe("full")
    expect(d.kind === "full" && d.payload).toBe(given)
  })
})
