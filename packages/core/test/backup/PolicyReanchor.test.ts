import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { gzip } from "@homelab-mcp/core/backup/Hash"
import { defaultSettings, MIN_DELTA_GZ_BYTES, selectBackupKind } from "@homelab-mcp/core/backup/Policy"
import * as Rdiff from "@homelab-mcp/core/backup/Rdiff"

describe("selectBackupKind", () => {
  it("reports `reanchored` exactly as asked, so a decision can be reused for the same bytes and verdict", () => {
    fc.assert(
      fc.property(
        fc.option(fc.uint8Array({ maxLength: 2048 }), { nil: null }),
        fc.option(fc.uint8Array({ maxLength: 2048 }), { nil: null }),
        fc.boolean(),
        fc.constantFrom(64, 1024, 1 << 20),
        (previous, next, reanchor, largeFileBytes) => {
          const d = selectBackupKind({ previous, next, reanchor, settings: { ...defaultSettings, largeFileBytes } })
          expect(d.reanchored).toBe(reanchor)
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe("the tiny-previous shortcut (MIN_DELTA_GZ_BYTES)", () => {
  it("no delta ever gzips below the bound, so skipping Rdiff for a tiny full copy loses nothing (property)", () => {
    const text = fc.array(fc.constantFrom("a\n", "b\n", "key = value\n", "", "x", "\n"), { maxLength: 40 }).map((xs) => new TextEncoder().encode(xs.join("")))
    fc.assert(
      fc.property(text, text, (base, result) => {
        const delta = Rdiff.make(base, result)
        if (delta._tag === "Some") expect(gzip(Rdiff.encode(delta.value)).length).toBeGreaterThanOrEqual(MIN_DELTA_GZ_BYTES)
      }),
      { numRuns: 200 }
    )
  })

  it("a previous file that gzips under twice the bound is stored whole before a multi-MiB next content", () => {
    const next = new TextEncoder().encode(Array.from({ length: 100_000 }, (_, i) => `line ${i}\n`).join(""))
    const d = selectBackupKind({ previous: new TextEncoder().encode("warm\n"), next, reanchor: false, settings: defaultSettings })
    expect(d.kind).toBe("full")
  })
})
